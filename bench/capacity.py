"""Capacity of one client core, side by side with a naive aiortc client, and what holds at that size.

Why: "how many concurrent calls can one machine drive?" decides how many load generators a team
needs; the answer is only worth something next to a naive client measured the same way in the
same run (machines here vary ~2x by day). Four figures, each in its own pinned process (client on
core 0, ``rth serve --load`` on core 1, 127.0.0.1 only), see bench/client_cost.py for the session:

1. **capacity**: the most live sessions one client core holds with send lag p99 < 20 ms, no
   failed session and the stand-in keeping up (>= 45 packets/s received per session). Levels go up
   by ``--step`` for each variant in turn (naive, then ours on the load path, at each level) until
   a level breaks, then bisect between the last that held and the first that broke.
2. **memory**: RSS the sessions added to their client process, per session, at the largest held
   level.
3. **connect**: ``connect_total_ms`` (connect start -> session ready) of 1 session at a time
   (``--connect-calls`` in a row) and of 50 at once.
4. **first-audio accuracy at N**: N load-path sessions (default 100) against ``rth serve --load
   --first-audio-delay-ms 600 --timing-log``: each reply's onset (kernel receive stamp of its
   first loud packet) minus the instant the stand-in's first packet of that reply left its socket.

Usage: ``.venv/bin/python bench/capacity.py`` (all four), or ``--only capacity,connect``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import soundfile
from client_cost import (  # bench/ is this script's directory
    KEPT_UP,
    KEY,
    SESSION,
    SOURCE_CLIP,
    TEXT,
    child_env,
    item,
    pinned,
    run_worker,
    stand_in,
    worker_command,
)

from harness.client import RealtimeSession, Target
from harness.client.audio_source import load_wav
from harness.client.opus_input import OpusClipCache
from harness.metrics.stats import summarise
from harness.protocol import SAMPLE_RATE, Milestone
from harness.server.timing import DelayKind, read_timing_log

LAG_LIMIT_MS = 20.0
GOAL_RATIO = 3.0
DELAY_MS = 600.0


def held(result: dict[str, Any]) -> bool:
    return bool(
        result["send_lag_p99_ms"] < LAG_LIMIT_MS
        and result["failed_sessions"] == 0
        and result["rx_per_s_per_session"] >= KEPT_UP
    )


def why_broke(result: dict[str, Any]) -> str:
    reasons = []
    if result["send_lag_p99_ms"] >= LAG_LIMIT_MS:
        reasons.append(f"send lag p99 {result['send_lag_p99_ms']:.0f} ms")
    if result["failed_sessions"]:
        reasons.append(f"{result['failed_sessions']} failed")
    if result["rx_per_s_per_session"] < KEPT_UP:
        reasons.append(f"stand-in behind ({result['rx_per_s_per_session']:.0f} rx/s)")
    return ", ".join(reasons)


def measure(variant: str, n: int, url: str, pid: int, args: argparse.Namespace) -> dict[str, Any]:
    result = run_worker(
        worker_command(variant, n, url, pid, args), limit_s=args.warmup + args.seconds + 90 + n
    )
    verdict = "held" if held(result) else "broke: " + why_broke(result)
    print(
        f"  {variant:6s} N={n:4d}: client {result['client_cpu_pct']:5.1f}% of core 0, stand-in "
        f"{result['server_cpu_pct']:5.1f}% of core 1, send lag p99 {result['send_lag_p99_ms']:6.1f} ms, "
        f"{result['rx_per_s_per_session']:4.1f} rx/s, {result['rss_mb_per_session']:.2f} MB/session: "
        f"{verdict}",
        flush=True,
    )
    return result


def capacity(url: str, pid: int, args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Step each variant up (interleaved, so both see the same machine), then bisect."""
    found: dict[str, dict[str, Any]] = {}
    state: dict[str, dict[str, int | None]] = {
        v: {"held": None, "broke": None} for v in args.variants.split(",")
    }
    level = args.start
    while any(s["broke"] is None for s in state.values()) and level <= args.max_sessions:
        for variant, s in state.items():
            if s["broke"] is None:
                result = measure(variant, level, url, pid, args)
                if held(result):
                    s["held"], found[variant] = level, result
                else:
                    s["broke"] = level
        level += args.step
    for variant, s in state.items():  # bisect to --resolution
        low, high = s["held"] or 0, s["broke"]
        while high is not None and high - low > args.resolution:
            middle = (low + high) // 2
            result = measure(variant, middle, url, pid, args)
            if held(result):
                low, found[variant] = middle, result
            else:
                high = middle
        s["held"], s["broke"] = low, high
    print("\ncapacity of one client core (send lag p99 < 20 ms, no failure, stand-in keeping up):")
    for variant, s in state.items():
        print(f"  {variant:6s} holds {s['held']} sessions (next level broke: {s['broke']})")
    naive = state.get("naive", {}).get("held")
    for variant, s in state.items():
        if naive and s["held"] and variant != "naive":
            ratio = s["held"] / naive
            verdict = "met" if ratio >= GOAL_RATIO else "NOT met"
            print(f"  ratio {variant} / naive: x{ratio:.2f} (goal >= x{GOAL_RATIO:g}: {verdict})")
    if "load" in found:
        at = found["load"]
        print(f"  memory at {at['sessions']} sessions: {at['rss_mb_per_session']:.2f} MB/session")
    return found


# ---- connect and accuracy: run in a pinned worker process ------------------------------------------


async def open_session(url: str, cache: OpusClipCache) -> RealtimeSession:
    return await RealtimeSession.connect(
        Target(url, KEY), session_config=SESSION, opus_clips=cache, decode_output=False
    )


def connect_ms(session: RealtimeSession) -> float:
    marks = {
        e.type: e.t for e in session.timeline if e.type in (Milestone.CONNECT_START, Milestone.SESSION_READY)
    }
    return 1000 * (marks[Milestone.SESSION_READY] - marks[Milestone.CONNECT_START])


async def connect_worker(args: argparse.Namespace) -> dict[str, Any]:
    cache = OpusClipCache()
    one: list[float] = []
    for _ in range(args.connect_calls):
        session = await open_session(args.url, cache)
        one.append(connect_ms(session))
        await session.close()
    sessions = await asyncio.gather(*(open_session(args.url, cache) for _ in range(args.connect_burst)))
    burst = [connect_ms(session) for session in sessions]
    await asyncio.gather(*(session.close() for session in sessions))
    return {"one": one, "burst": burst}


async def accuracy_worker(args: argparse.Namespace) -> dict[str, Any]:
    cache = OpusClipCache()
    clip = Path(args.clip)
    cache.get(clip)
    gate = asyncio.Semaphore(8)

    async def opened() -> RealtimeSession:
        async with gate:
            return await open_session(args.url, cache)

    attempts = await asyncio.gather(*(opened() for _ in range(args.sessions)), return_exceptions=True)
    sessions = [s for s in attempts if isinstance(s, RealtimeSession)]

    async def turns(session: RealtimeSession, seed: int) -> None:
        await asyncio.sleep(seed % 40 / 20)  # spread over 2 s
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline:
            await session.play(clip)
            await session.send(item(TEXT))
            await session.send({"type": "response.create"})
            await session.wait_for("output_audio_buffer.stopped", timeout=60)

    outcomes = await asyncio.gather(*(turns(s, i) for i, s in enumerate(sessions)), return_exceptions=True)
    await asyncio.sleep(0.5)
    onsets: list[tuple[str, float]] = []  # (response id, monotonic onset)
    for session in sessions:
        created: list[tuple[float, str]] = [
            (e.t, e.data["response"]["id"]) for e in session.timeline if e.type == "response.created"
        ]
        found = [e.t for e in session.timeline if e.type == Milestone.OUTPUT_AUDIO_ONSET]
        for t, response_id in created:
            onset = next((o for o in found if o >= t), None)
            if onset is not None:
                onsets.append((response_id, onset + session.timeline.origin))
    await asyncio.gather(*(session.close() for session in sessions), return_exceptions=True)
    errors = [f"{type(o).__name__}: {o}" for o in [*outcomes, *attempts] if isinstance(o, BaseException)]
    return {"onsets": onsets, "failed": len(errors), "errors": sorted(set(errors))[:5]}


def run_json_worker(kind: str, url: str, pid: int, args: argparse.Namespace, **extra: Any) -> dict[str, Any]:
    import subprocess

    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        kind,
        "--url",
        url,
        "--clip",
        str(args.clip),
    ]
    for key, value in extra.items():
        command += [f"--{key.replace('_', '-')}", str(value)]
    done = subprocess.run(pinned(0, command), env=child_env(), capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise SystemExit(f"{kind} worker failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def line(label: str, values: list[float]) -> str:
    stats = summarise(values)
    if not stats.count:
        return f"  {label}: no samples"
    return (
        f"  {label}: n={stats.count} p50 {stats.p50:.2f} p95 {stats.p95:.2f} p99 {stats.p99:.2f} "
        f"max {stats.max:.2f} ms"
    )


def main(args: argparse.Namespace) -> None:
    only = set(args.only.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        args.clip = Path(tmp) / "clip48k.wav"
        soundfile.write(str(args.clip), load_wav(SOURCE_CLIP), SAMPLE_RATE, subtype="PCM_16")
        print(
            f"client on core 0, rth serve --load on core 1; window {args.seconds:g} s after {args.warmup:g} s"
        )
        if only & {"capacity", "connect"}:
            with stand_in("--load") as (url, pid):
                if "capacity" in only:
                    print("\n== capacity ==")
                    capacity(url, pid, args)
                if "connect" in only:
                    print("\n== connect (load path client) ==")
                    result = run_json_worker(
                        "connect",
                        url,
                        pid,
                        args,
                        connect_calls=args.connect_calls,
                        connect_burst=args.connect_burst,
                    )
                    print(line(f"1 at a time ({args.connect_calls} in a row)", result["one"]))
                    print(line(f"{args.connect_burst} at once", result["burst"]))
                    print(f"  goal p50 <= 60 ms: one at a time {statistics.median(result['one']):.1f} ms")
        if "accuracy" in only:
            log = Path(tmp) / "timing.jsonl"
            options = ("--load", "--first-audio-delay-ms", str(DELAY_MS), "--timing-log", str(log))
            with stand_in(*options) as (url, pid):
                print(f"\n== first-audio accuracy at {args.accuracy_sessions} sessions ==")
                result = run_json_worker(
                    "accuracy", url, pid, args, sessions=args.accuracy_sessions, seconds=args.accuracy_seconds
                )
            records = {r.subject_id: r for r in read_timing_log(log) if r.kind is DelayKind.FIRST_AUDIO}
            errors = [
                1000 * (onset - records[rid].actual_at)
                for rid, onset in result["onsets"]
                if rid in records and records[rid].actual_at is not None
            ]
            late = [r.actual_ms - r.target_ms for r in records.values() if r.actual_ms is not None]
            print(f"  replies with an onset: {len(result['onsets'])}, failed sessions: {result['failed']}")
            for error in result["errors"]:
                print(f"    failed: {error}")
            print(line("error: onset - stand-in's first packet sent", errors))
            print(line("stand-in late against its 600 ms target", late))
            p99 = summarise(errors).p99
            if p99 is not None:
                print(f"  goal |p99| <= 5 ms: {p99:.2f} ms ({'met' if abs(p99) <= 5 else 'NOT met'})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", default="capacity,connect,accuracy")
    parser.add_argument("--variants", default="naive,load", help="capacity: e.g. naive,load,load+uvloop")
    parser.add_argument("--start", type=int, default=20, help="first level of the capacity search")
    parser.add_argument("--step", type=int, default=20)
    parser.add_argument("--resolution", type=int, default=5, help="bisect until the bracket is this narrow")
    parser.add_argument("--max-sessions", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=12.0, help="measurement window per level")
    parser.add_argument("--warmup", type=float, default=4.0)
    parser.add_argument("--connect-calls", type=int, default=20)
    parser.add_argument("--connect-burst", type=int, default=50)
    parser.add_argument("--accuracy-sessions", type=int, default=100)
    parser.add_argument("--accuracy-seconds", type=float, default=20.0)
    for hidden in ("--worker", "--url", "--clip"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    parser.add_argument("--sessions", type=int, help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    if parsed.worker == "connect":
        print(json.dumps(asyncio.run(connect_worker(parsed))))
    elif parsed.worker == "accuracy":
        print(json.dumps(asyncio.run(accuracy_worker(parsed))))
    else:
        main(parsed)
