"""Session memory: does a finished session leave anything behind, client or stand-in?

Why: the 30-minute soak's process tree grew ~20 KB per session (docs/reliability.md). RSS alone
cannot tell a leak (objects kept per session, forever) from bounded growth (caches filling,
pools starting) or the allocator keeping freed pages. This runs the real load path in one
process (the stand-in in load mode and one :class:`~harness.load.worker.LoadWorker` on the same
loop, 127.0.0.1 only), traces Python allocations with ``tracemalloc`` and, after a warm-up,
measures three equal phases of sessions:

* RSS and live objects (``gc``) per finished session in each phase: a leak stays positive and
  steady phase after phase; bounded growth falls towards zero. RSS is read again after glibc's
  ``malloc_trim(0)``: growth that it gives back was freed heap the allocator kept, not a leak;
* live objects by type that grew over the last phase, e.g. sessions or peer connections;
* with tracing on in the last phase only (it slows every allocation), the traced Python memory
  per session and the allocation sites that grew most.

``--users 10 --warm 60 --phase 90`` is the default (about 6 minutes). Sampling (scored sessions)
is off: it starts a scoring process and keeps its reports by design.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import ctypes.util
import gc
import resource
import secrets
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from harness.client import ConnectMode, Target
from harness.load.worker import LoadWorker, WorkerConfig
from harness.runner.targets import ResolvedTarget
from harness.scenario import load_scenarios
from harness.server import ServerConfig, StandInServer

ROOT = Path(__file__).resolve().parent.parent


LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def live_types() -> Counter[str]:
    return Counter(type(o).__qualname__ for o in gc.get_objects())


def finished(worker: LoadWorker) -> int:
    counters = worker.meter.counters
    return counters.sessions_completed + counters.sessions_failed


async def measure(args: argparse.Namespace) -> None:
    scenarios = tuple(load_scenarios([args.suite]))
    key = "sk-rth-local-" + secrets.token_hex(8)
    config = ServerConfig(host="127.0.0.1", port=0, api_key=key, load=True)
    async with StandInServer(config) as server:
        await server.warm_up()
        with tempfile.TemporaryDirectory() as run_dir:
            target = ResolvedTarget(Target(base_url=server.base_url, api_key=key), builtin=True)
            worker = LoadWorker(
                WorkerConfig("w0", scenarios, target, ConnectMode.UNIFIED, Path(run_dir), score_sample=0.0)
            )
            running = asyncio.create_task(worker.run())
            worker.set_users(args.users)
            print(f"{args.users} users, warm-up {args.warm:.0f} s, then 3 phases of {args.phase:.0f} s")
            await asyncio.sleep(args.warm)
            marks = [await mark(worker, traced=False)]
            for phase in range(1, 4):
                if phase == 3 and args.frames:
                    tracemalloc.start(args.frames)  # only now: tracing slows every allocation
                    marks[-1] = await mark(worker, traced=True)
                await asyncio.sleep(args.phase)
                marks.append(await mark(worker, traced=phase == 3 and args.frames > 0))
                print_phase(phase, marks[-2], marks[-1])
            worker.stop()
            await running
    before, after = marks[-2], marks[-1]
    if before.snapshot is not None and after.snapshot is not None:
        print("\nallocation sites that grew most in the last phase (traced):")
        for stat in after.snapshot.compare_to(before.snapshot, "traceback")[: args.top]:
            if stat.size_diff <= 0:
                break
            ours = [f for f in stat.traceback if "/harness/" in f.filename]
            frame = ours[0] if ours else stat.traceback[0]  # our code that allocated it, when ours
            where = f"{frame.filename}:{frame.lineno}"
            print(f"  {stat.size_diff / 1024:+8.1f} KB {stat.count_diff:+6d} blocks  {where}")
    grown = [(t, n - before.types.get(t, 0)) for t, n in after.types.items()]
    grown = sorted((g for g in grown if g[1] > 0), key=lambda g: -g[1])[: args.top]
    listed = ", ".join(f"{name} {n:+d}" for name, n in grown) or "none"
    print(f"live objects that grew in the last phase: {listed}")


@dataclass
class Mark:
    sessions: int
    rss_mb: float
    types: Counter[str]
    snapshot: tracemalloc.Snapshot | None
    trimmed_rss_mb: float  # after malloc_trim(0)


async def mark(worker: LoadWorker, *, traced: bool) -> Mark:
    gc.collect()
    snapshot = tracemalloc.take_snapshot() if traced else None
    rss = rss_mb()
    LIBC.malloc_trim(0)  # hand freed heap pages back: what stays is memory still in use
    return Mark(finished(worker), rss, live_types(), snapshot, rss_mb())


def print_phase(phase: int, before: Mark, after: Mark) -> None:
    sessions = max(1, after.sessions - before.sessions)
    objects = sum(after.types.values()) - sum(before.types.values())
    grown_mb = after.rss_mb - before.rss_mb
    kept_mb = after.trimmed_rss_mb - before.trimmed_rss_mb
    line = (
        f"phase {phase}: {after.sessions - before.sessions} sessions; RSS {grown_mb:+.1f} MB "
        f"({grown_mb * 1024 / sessions:+.2f} KB/session; "
        f"after malloc_trim {kept_mb * 1024 / sessions:+.2f}); "
        f"live objects {objects:+d} "
        f"({objects / sessions:+.1f}/session)"
    )
    if before.snapshot is not None and after.snapshot is not None:
        traced = sum(stat.size_diff for stat in after.snapshot.compare_to(before.snapshot, "filename"))
        line += (
            f"; traced Python {traced / 1024:+.0f} KB ({traced / 1024 / sessions:+.2f} KB/session; "
            "with the sessions in flight at the end, and RSS with tracemalloc's own memory)"
        )
    print(line, flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--suite", type=Path, default=ROOT / "scenarios" / "smoke.yaml")
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--warm", type=float, default=60.0, help="seconds before the first snapshot")
    parser.add_argument("--phase", type=float, default=90.0, help="seconds per measured phase")
    parser.add_argument(
        "--frames", type=int, default=8, help="tracemalloc's traceback depth in phase 3 (0: no tracing)"
    )
    parser.add_argument("--top", type=int, default=15)
    started = time.monotonic()
    asyncio.run(measure(parser.parse_args()))
    print(f"({time.monotonic() - started:.0f} s)", file=sys.stderr)
