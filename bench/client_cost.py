"""Client CPU per live session: a naive aiortc client vs ours (default) vs ours (load path).

Why: ``rth load`` must drive hundreds of live sessions per core; this says how many each client
sustains on this machine, as ratios measured in one run. Each variant runs N sessions in its
own process pinned to core 0 (``taskset -c 0``) against ``rth serve`` in another process pinned
to core 1, on 127.0.0.1. Every session repeats one turn: speak a WAV (2.3 s), ask for a text
reply ("You said: ..."), wait until its audio stopped playing. Audio flows both ways all the
time (50 packets/s each way: speech or silence), as in a call. After a warm-up, for a window:

* CPU% per live session: process CPU time (all threads: aiortc's encoder pool and decoder
  threads included) / wall time / N;
* send lag p99 / max: how late frames are handed to the sender against their pts schedule;
* rx/s per session: received packets (or decoded frames) per second, to show the stand-in kept up.

Variants: ``naive`` (bench/naive_client.py), ``default`` (RealtimeSession: PCM frames aiortc
encodes, decoded capture), ``load`` (RealtimeSession(opus_clips=..., decode_output=False)).
``--profile FILE`` then samples ``load`` at the largest N with py-spy and prints its top costs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import soundfile

from harness.client import RealtimeSession, Target
from harness.client.audio_source import PacingStats, load_wav
from harness.client.opus_input import OpusClipCache
from harness.client.packet_levels import PacketLevelCapture
from harness.protocol import SAMPLE_RATE

ROOT = Path(__file__).resolve().parent.parent
SOURCE_CLIP = ROOT / "fixtures" / "audio" / "weather_paris.wav"  # 16 kHz: sent as a 48 kHz copy
KEPT_UP = 45.0  # received packets/s per session below this: the stand-in did not keep up
KEY = "sk-bench-client-cost"
VARIANTS = ("naive", "default", "load")
UVLOOP = "+uvloop"  # a variant name ending so runs on uvloop's event loop (pip install uvloop)
SESSION = {"type": "realtime", "audio": {"input": {"turn_detection": None}}}
TEXT = "what is the weather like in paris today"
WINDOW_MARK = "window start"
CALLERS = {  # where a load session's time goes (py-spy frame names)
    "RTCRtpSender._run_rtp": "sending: pack, RTP serialize, SRTP protect, UDP send",
    "PacedAudioTrack.recv": "pacing the input track (inside the sender loop)",
    "RTCDtlsTransport._recv_next": "receiving: SRTP unprotect, RTP parse, routing",
    "PacketLevelMeter.on_packet": "our per-packet level decision",
    "RTCSctpTransport._handle_data": "data channel (events)",
    "RTCRtpReceiver._run_rtcp": "RTCP",
    "RTCRtpSender._run_rtcp": "RTCP",
    "BaseEventLoop._run_once": "everything on the event loop",
}


# ---- one variant in this process -------------------------------------------------------------


@dataclass
class Live:
    """One running session, whatever the client: how to run a turn and what to read from it."""

    turn: Callable[[], Awaitable[None]]
    stats: Callable[[], PacingStats]
    received: Callable[[], int]
    reset: Callable[[], None]
    close: Callable[[], Awaitable[None]]


def item(text: str) -> dict[str, Any]:
    return {
        "type": "conversation.item.create",
        "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]},
    }


async def open_ours(url: str, variant: str, clip: Path, cache: OpusClipCache | None) -> Live:
    session = await RealtimeSession.connect(
        Target(url, KEY), session_config=SESSION, opus_clips=cache, decode_output=variant != "load"
    )

    async def turn() -> None:
        await session.play(clip)
        await session.send(item(TEXT))
        await session.send({"type": "response.create"})
        await session.wait_for("output_audio_buffer.stopped", timeout=60)

    def received() -> int:
        capture = session.capture
        return capture.meter.packets if isinstance(capture, PacketLevelCapture) else capture.frames

    def reset() -> None:
        session.track.stats = PacingStats()

    return Live(turn, lambda: session.track.stats, received, reset, session.close)


async def open_naive(url: str, clip: Path) -> Live:
    from naive_client import NaiveSession  # bench/ is this script's directory

    session = NaiveSession(url, KEY)
    await session.connect()
    samples, _ = soundfile.read(str(clip), dtype="int16")  # already 48 kHz mono

    async def turn() -> None:
        await asyncio.sleep(session.track.play(samples))
        session.send(item(TEXT))
        session.send({"type": "response.create"})
        await session.wait_for("output_audio_buffer.stopped", timeout=60)

    def reset() -> None:
        session.track.stats = PacingStats()

    return Live(turn, lambda: session.track.stats, lambda: session.frames, reset, session.close)


def proc_cpu_s(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb() -> float:
    """This process's resident set size (VmRSS), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def loop_thread_wait_s() -> float:
    """Time this process's main thread (the event loop) spent runnable but not running: other
    processes on the same core (the machine may be shared) show up here, not in CPU time."""
    return int(Path("/proc/self/schedstat").read_text().split()[1]) / 1e9


def merged(stats: list[PacingStats]) -> PacingStats:
    total = PacingStats()
    for one in stats:
        total.frames += one.frames
        total.max_lateness_s = max(total.max_lateness_s, one.max_lateness_s)
        total.histogram_ms = [a + b for a, b in zip(total.histogram_ms, one.histogram_ms, strict=True)]
    return total


async def run_variant(args: argparse.Namespace) -> dict[str, Any]:
    """N sessions of one variant; CPU, send lag and received rate over the window."""
    variant, url, clip, n = args.worker.removesuffix(UVLOOP), args.url, Path(args.clip), int(args.sessions)
    cache = None
    if variant == "load":
        cache = OpusClipCache()
        cache.get(clip)  # warm: encoded once, before any session paces audio
    gate = asyncio.Semaphore(4)

    async def open_one() -> Live:
        async with gate:
            if variant == "naive":
                return await open_naive(url, clip)
            return await open_ours(url, variant, clip, cache)

    rss0 = rss_mb()
    lives = await asyncio.gather(*(open_one() for _ in range(n)))
    rng = random.Random(n)

    async def loop(live: Live) -> None:
        await asyncio.sleep(rng.uniform(0, 2.0))  # not all in step
        while True:
            await live.turn()

    tasks = [asyncio.ensure_future(loop(live)) for live in lives]
    await asyncio.sleep(args.warmup)
    for live in lives:
        live.reset()
    rx0, wait0 = sum(live.received() for live in lives), loop_thread_wait_s()
    cpu0, server0, wall0 = time.process_time(), proc_cpu_s(args.server_pid), time.monotonic()
    print(WINDOW_MARK, file=sys.stderr, flush=True)
    await asyncio.sleep(args.seconds)
    cpu1, server1, wall1 = time.process_time(), proc_cpu_s(args.server_pid), time.monotonic()
    rx1, wait1 = sum(live.received() for live in lives), loop_thread_wait_s()
    lag = merged([live.stats() for live in lives])
    failed = sum(1 for task in tasks if task.done())
    rss1 = rss_mb()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.gather(*(live.close() for live in lives), return_exceptions=True)
    wall = wall1 - wall0
    return {
        "variant": args.worker,
        "sessions": n,
        "cpu_pct_per_session": 100 * (cpu1 - cpu0) / wall / n,
        "client_cpu_pct": 100 * (cpu1 - cpu0) / wall,
        "server_cpu_pct": 100 * (server1 - server0) / wall,
        "loop_wait_pct": 100 * (wait1 - wait0) / wall,
        "send_lag_p99_ms": 1000 * lag.percentile_s(99),
        "send_lag_max_ms": 1000 * lag.max_lateness_s,
        "rx_per_s_per_session": (rx1 - rx0) / wall / n,
        "failed_sessions": failed,
        "rss_mb_per_session": (rss1 - rss0) / n,
    }


# ---- the run: stand-in, one process per (N, variant) ------------------------------------------


def pinned(core: int, command: list[str]) -> list[str]:
    if shutil.which("taskset") and len(os.sched_getaffinity(0)) > 1:
        return ["taskset", "-c", str(core), *command]
    return command


def child_env() -> dict[str, str]:
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": str(ROOT) + (os.pathsep + path if path else "")}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def stand_in(*options: str) -> Iterator[tuple[str, int]]:
    """``rth serve OPTIONS`` on 127.0.0.1 in its own process (pinned to core 1); yields (url, pid)."""
    port = free_port()
    rth = Path(sys.executable).with_name("rth")
    command = [str(rth)] if rth.exists() else [sys.executable, "-m", "harness.cli"]
    command += ["serve", "--host", "127.0.0.1", "--port", str(port), "--api-key", KEY]
    command += ["--turn-detection", "none", *options]
    server = subprocess.Popen(pinned(1, command), env=child_env(), stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("rth serve did not start")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/v1", server.pid
    finally:
        server.terminate()
        server.wait(10)


def worker_command(variant: str, n: int, url: str, pid: int, args: argparse.Namespace) -> list[str]:
    return [
        sys.executable, str(Path(__file__).resolve()), "--worker", variant, "--clip", str(args.clip),
        "--sessions", str(n), "--url", url, "--server-pid", str(pid),
        "--warmup", str(args.warmup), "--seconds", str(args.seconds),
    ]  # fmt: skip


def run_worker(command: list[str], limit_s: float) -> dict[str, Any]:
    try:
        done = subprocess.run(
            pinned(0, command), env=child_env(), capture_output=True, text=True, check=False, timeout=limit_s
        )
    except subprocess.TimeoutExpired as exc:
        raise SystemExit(f"worker still running after {limit_s:g} s: {' '.join(command)}") from exc
    if done.returncode != 0:
        raise SystemExit(f"worker failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def report(results: list[dict[str, Any]]) -> None:
    """One row per run, then the ratios of sessions per core against naive at each N."""
    print(
        f"{'variant':8s} {'N':>3s} {'CPU%/session':>12s} {'sessions/core':>13s} {'send lag p99':>12s} "
        f"{'max':>7s} {'rx/s/sess':>9s} {'client CPU%':>11s} {'loop waited':>11s} {'server CPU%':>11s}"
    )
    for r in sorted(results, key=lambda r: (r["sessions"], r["variant"])):
        notes = []
        if r["rx_per_s_per_session"] < KEPT_UP:
            notes.append("stand-in did not keep up: cost underestimated")
        if r["failed_sessions"]:
            notes.append(f"{r['failed_sessions']} sessions failed")
        print(
            f"{r['variant']:8s} {r['sessions']:3d} {r['cpu_pct_per_session']:11.2f}% "
            f"{100 / r['cpu_pct_per_session']:13.0f} {r['send_lag_p99_ms']:9.0f} ms "
            f"{r['send_lag_max_ms']:4.0f} ms {r['rx_per_s_per_session']:9.1f} {r['client_cpu_pct']:10.1f}% "
            f"{r['loop_wait_pct']:10.1f}% {r['server_cpu_pct']:10.1f}%  " + "; ".join(notes)
        )
    ran = sorted({r["variant"] for r in results})
    if "naive" not in ran:
        return
    print("\nsessions per core, ratio to naive (same run, same N; mean over rounds):")
    for n in sorted({r["sessions"] for r in results}):
        at_n = [r for r in results if r["sessions"] == n]
        cost = {
            v: statistics.mean(r["cpu_pct_per_session"] for r in at_n if r["variant"] == v)
            for v in ran
            if any(r["variant"] == v for r in at_n)
        }
        ratios = ", ".join(f"{v} x{cost['naive'] / c:.2f}" for v, c in cost.items() if v != "naive")
        print(f"  N={n:3d}: {ratios}")


def profile(url: str, pid: int, n: int, args: argparse.Namespace) -> None:
    """Sample the load variant's window with py-spy, only while holding the GIL (so the event
    loop waiting in epoll is left out): own time per function, and time under a few callers."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    raw = Path(args.profile)
    worker = subprocess.Popen(
        pinned(0, worker_command("load", n, url, pid, args)),
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert worker.stderr is not None
    for line in worker.stderr:
        if line.startswith(WINDOW_MARK):
            break
    record = [py_spy, "record", "--gil", "--nonblocking", "--format", "raw", "--rate", "1000"]
    record += ["-d", str(max(1, int(args.seconds) - 1)), "-o", str(raw), "--pid", str(worker.pid)]
    subprocess.run(record, capture_output=True, check=True)
    worker.communicate()
    own: Counter[str] = Counter()
    under: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        frames = [frame.partition(" (") for frame in stack.split(";")]  # "function (path/file.py:line)"
        function, _, where = frames[-1]
        own[f"{function} ({where.rsplit('/', 1)[-1].split(':')[0]})"] += int(samples)
        for caller in {name for name, _, _ in frames} & set(CALLERS):
            under[caller] += int(samples)
    total = sum(own.values())
    print(f"\npy-spy --gil, load variant, N={n}, {total} samples in the window: own time")
    for function, count in own.most_common(args.top):
        print(f"  {100 * count / total:5.1f}%  {function}")
    print("time under:")
    for caller, label in CALLERS.items():
        print(f"  {100 * under[caller] / total:5.1f}%  {caller}: {label}")


def main(args: argparse.Namespace) -> None:
    sizes = [int(s) for s in args.sessions.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        args.clip = Path(tmp) / "clip48k.wav"  # what RealtimeSession would send: 48 kHz mono int16
        soundfile.write(str(args.clip), load_wav(SOURCE_CLIP), SAMPLE_RATE, subtype="PCM_16")
        cores = len(os.sched_getaffinity(0))
        print(f"{cores} cores; client on core 0, rth serve on core 1; warm-up {args.warmup:g} s, "
              f"window {args.seconds:g} s; {SOURCE_CLIP.name} at 48 kHz\n")  # fmt: skip
        results = []
        with stand_in() as (url, pid):
            for _ in range(args.rounds):
                for n in sizes:
                    for variant in args.variants.split(","):
                        command = worker_command(variant, n, url, pid, args)
                        results.append(run_worker(command, limit_s=args.warmup + args.seconds + 60 + n))
                        cost = results[-1]["cpu_pct_per_session"]
                        print(f"  {variant} N={n}: {cost:.2f}% of a core per session", flush=True)
            print()
            report(results)
            if args.profile:
                profile(url, pid, max(sizes), args)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", default="5,10", help="comma-separated session counts")
    parser.add_argument("--seconds", type=float, default=12.0, help="measurement window per run")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--variants", default=",".join(VARIANTS), help="a subset, for profiling")
    parser.add_argument("--profile", help="py-spy raw output file: profile the load variant at the largest N")
    parser.add_argument("--top", type=int, default=15)
    for hidden in ("--worker", "--url", "--clip"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    parser.add_argument("--server-pid", type=int, help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    if parsed.worker and parsed.worker.endswith(UVLOOP):
        import uvloop

        print(json.dumps(uvloop.run(run_variant(parsed))))
    elif parsed.worker:
        print(json.dumps(asyncio.run(run_variant(parsed))))
    else:
        main(parsed)
