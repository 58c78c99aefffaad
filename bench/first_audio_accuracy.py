"""How far our first-audio time is from when the stand-in really sent the audio, at concurrency 1 and 8.

Why: ``first_audio_ms`` is the latency users gate on, and sessions now run side by side on one
event loop with the stand-in. The stand-in holds each reply's first audio until ``--delay-ms``
after its ``response.created`` (so recognition and synthesis time stay out of the figure) and
records the monotonic instant the reply's first RTP packet left its socket
(``TimingRecord.actual_at``, :mod:`harness.server.send_clock`). The client stamps the onset with
the kernel's receive time of that packet (:mod:`harness.client.datagram_arrival`) on its session
timeline. ``--standin process`` (default, as ``--target local`` runs it) starts the stand-in in its
own process, which appends its timing records to a file (``timing_log_path``); ``--standin inline``
runs it on this process's event loop, side by side with the sessions. Either way both stamps are
``time.monotonic()`` (CLOCK_MONOTONIC, one clock for every process of the machine), so: error =
client onset - server send, i.e. what our measurement adds (loopback, the arrival stamp, and
picking the right packet as the onset: a wrong one is off by 20 ms frames). The calibration test's
figure (our response.created -> onset, minus the server's created -> send) is shown too; it also
carries the data channel's delivery of response.created.
Goals: error p99 <= 5 ms at each level; the calibration-style figure within +-50 ms (p99), the
tight form of the test's claim (the test itself allows a loaded machine far more).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, ClassVar

from harness.metrics.stats import LatencyStats, summarise
from harness.report.model import ScenarioReport
from harness.runner import NoObserver, RunOptions, run_suite, session_run
from harness.scenario import Scenario, load_suite
from harness.server import ServerConfig, StandInServer
from harness.server.process import StandInProcess
from harness.server.timing import DelayKind, TimingRecord, read_timing_log
from harness.timeline import EntryKind, Timeline, read_jsonl

KEY = "sk-bench-accuracy"
GOAL_P99_MS = 5.0
GOAL_CALIBRATION_MS = 50.0
TICK_S = 0.005


class NotedTimeline(Timeline):
    """A Timeline that notes its monotonic origin by session name: the runner keeps its timelines
    to itself, and the onset has to go back onto the monotonic clock the server stamps with."""

    origins: ClassVar[dict[str, float]] = {}

    def __init__(self, session: str = "session", stream: IO[str] | None = None) -> None:
        super().__init__(session, stream)
        NotedTimeline.origins[session] = self.origin


@dataclass
class Level:
    concurrency: int
    error_ms: list[float] = field(default_factory=list)  # client onset - server send
    calibration_ms: list[float] = field(default_factory=list)  # as tests/runner/test_runner_e2e.py
    late_ms: list[float] = field(default_factory=list)  # server send - its target
    lag_ms: list[float] = field(default_factory=list)  # event-loop lag while sessions run
    connects: list[float] = field(default_factory=list)  # connect_total_ms, plan order
    unmatched: list[str] = field(default_factory=list)  # turns without a figure, and why
    load: str = ""


class LagSampler(NoObserver):
    """How late a TICK_S sleep wakes up while sessions run: the time something else held the loop
    (or the machine did not give this process a core). Start-up and shutdown are left out."""

    def __init__(self, into: list[float]) -> None:
        self.into = into
        self.active = 0

    def session_started(self, instance: str) -> None:
        self.active += 1

    def session_finished(self, instance: str, report: ScenarioReport) -> None:
        self.active -= 1

    async def run(self) -> None:
        while True:
            start = time.monotonic()
            await asyncio.sleep(TICK_S)
            if self.active:
                self.into.append((time.monotonic() - start - TICK_S) * 1000)


async def measure(
    scenarios: list[Scenario], concurrency: int, repeat: int, delay_ms: float, standin: str
) -> Level:
    level = Level(concurrency)
    before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="rth-bench-") as out:
        timing_path = Path(out) / "timing.jsonl"
        config = ServerConfig(
            host="127.0.0.1",
            port=0,
            api_key=KEY,
            first_audio_delay_ms=delay_ms,
            timing_log_path=timing_path if standin == "process" else None,
        )
        server: StandInServer | StandInProcess
        server = StandInProcess(config) if standin == "process" else StandInServer(config)
        async with server:
            if isinstance(server, StandInServer):
                await server.warm_up()  # as --target local does (StandInProcess is ready once warm)
            options = RunOptions(
                target=server.base_url,
                api_key=KEY,
                out=Path(out),
                concurrency=concurrency,
                repeat=repeat,
                render=False,
            )
            lag = LagSampler(level.lag_ms)
            sampler = asyncio.create_task(lag.run())
            try:
                report, run_dir = await run_suite(scenarios, options, lag)
            finally:
                sampler.cancel()
        if isinstance(server, StandInServer):
            records = list(server.timing_log.records)
        else:
            records = read_timing_log(timing_path)  # complete: the stand-in has stopped
        sent: dict[str, TimingRecord] = {r.subject_id: r for r in records if r.kind is DelayKind.FIRST_AUDIO}
        timelines = read_jsonl(run_dir / "timeline.jsonl")
    level.load = f"{before:.2f}->{os.getloadavg()[0]:.2f}"
    for session in report.scenarios:
        instance = session.instance or session.name
        level.connects.append(session.connect_ms.get("connect_total_ms") or float("nan"))
        origin = NotedTimeline.origins[instance]
        created = {
            e.data["response"]["id"]: e.t
            for e in timelines.get(instance, [])
            if e.kind is EntryKind.RECEIVED and e.type == "response.created"
        }
        for turn in session.turns:
            first_audio = turn.latencies_ms.get("first_audio_ms")
            created_ms = turn.latencies_ms.get("response_created_ms")
            record = sent.get(turn.response_id or "")
            created_t = created.get(turn.response_id or "")
            if None in (first_audio, created_ms, created_t) or record is None or record.actual_at is None:
                why = turn.error or f"{turn.response_status}, first_audio_ms {first_audio}"
                level.unmatched.append(f"{instance}/{turn.name} ({why})")
                continue
            assert first_audio is not None and created_ms is not None and created_t is not None
            assert record.actual_ms is not None
            onset = origin + created_t + (first_audio - created_ms) / 1000  # our response.created -> onset
            level.error_ms.append((onset - record.actual_at) * 1000)
            level.calibration_ms.append(first_audio - created_ms - record.actual_ms)
            level.late_ms.append(record.actual_ms - record.target_ms)
    return level


def row(name: str, stats: LatencyStats) -> str:
    if not stats.count:
        return f"    {name:34s} n=0"
    return (
        f"    {name:34s} n={stats.count:4d}  p50 {stats.p50:7.2f}  p95 {stats.p95:7.2f}  "
        f"p99 {stats.p99:7.2f}  max {stats.max:7.2f}  min {stats.min:7.2f}"
    )


async def main(suite: Path, levels: list[int], repeat: int, delay_ms: float, standins: list[str]) -> None:
    scenarios = load_suite([suite]).scenarios
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"suite {suite} x{repeat}, first audio held {delay_ms:g} ms; {os.cpu_count()} cores; load {load}")
    session_run.Timeline = NotedTimeline  # type: ignore[attr-defined]
    for concurrency, standin in [(c, s) for c in levels for s in standins]:
        level = await measure(scenarios, concurrency, repeat, delay_ms, standin)
        others = statistics.median(level.connects[1:]) if len(level.connects) > 1 else float("nan")
        print(
            f"concurrency {concurrency}, stand-in {standin}: load {level.load}, "
            f"turns without a figure {len(level.unmatched)}, "
            f"connect_total_ms first {level.connects[0]:.1f} vs others p50 {others:.1f}"
        )
        for turn in level.unmatched[:3]:
            print(f"    no figure: {turn}")
        error = summarise(level.error_ms)
        print(row("error: onset - server send (ms)", error))
        calibration = summarise(level.calibration_ms)
        print(row("calibration-test style (ms)", calibration))
        print(row("server late vs its target (ms)", summarise(level.late_ms)))
        print(row(f"loop lag, {TICK_S * 1000:g} ms ticks (ms)", summarise(level.lag_ms)))
        if error.p99 is not None:
            met = "met" if abs(error.p99) <= GOAL_P99_MS else "NOT met"
            print(f"    goal |p99| <= {GOAL_P99_MS:g} ms: {error.p99:.2f} ms ({met})")
        if calibration.p99 is not None:
            met = "met" if abs(calibration.p99) <= GOAL_CALIBRATION_MS else "NOT met"
            goal = f"goal calibration |p99| <= {GOAL_CALIBRATION_MS:g} ms"
            print(f"    {goal}: {calibration.p99:.2f} ms ({met})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    root = Path(__file__).resolve().parents[1]
    parser.add_argument("--suite", type=Path, default=root / "scenarios" / "smoke.yaml")
    parser.add_argument("--levels", default="1,8", help="comma-separated concurrency levels")
    parser.add_argument("--repeat", type=int, default=34, help="sessions per scenario (3 turns: 102 turns)")
    parser.add_argument("--delay-ms", type=float, default=600.0, help="first audio held after created")
    parser.add_argument(
        "--standin",
        default="process",
        help="process (its own process, as --target local), inline (on this loop), or both: "
        "process,inline (each level in both modes, one after the other)",
    )
    args = parser.parse_args()
    levels = [int(level) for level in args.levels.split(",")]
    standins = args.standin.split(",")
    if not set(standins) <= {"process", "inline"}:
        parser.error(f"--standin: process, inline or process,inline, not {args.standin!r}")
    asyncio.run(main(args.suite, levels, args.repeat, args.delay_ms, standins))
