"""The load driver: opens the target, starts the workers, schedules users, merges what they measure.

Closed model (``--users N``): N sessions kept live, ramped linearly over ``--ramp-up``. Open model
(``--rate R``): R sessions started per second, whatever those running do. Breakpoint
(``--ramp-until EXPR``): ``--users`` more every ``--step`` seconds until the threshold breaks;
the last level that held is the answer. Users are spread over the workers round-robin; only the
driver knows the schedule, the workers only obey ``set_users``/``set_rate``.
"""

from __future__ import annotations

import asyncio
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from harness.load.histograms import MetricHistograms
from harness.load.local import LocalWorkers
from harness.load.stats import LoadStats
from harness.load.summary import LevelResult, build_summary
from harness.load.thresholds import Threshold, ThresholdResult
from harness.load.worker import WorkerConfig
from harness.report.model import FailureKind, RunReport, ScenarioReport
from harness.runner.options import RunOptions
from harness.runner.run_dir import RunDirectory
from harness.runner.targets import TargetPool, open_target
from harness.scenario import Scenario

TICK_S = 0.25
SETTLE_FRACTION = 0.25  # of each breakpoint step, not judged (sessions still connecting)


@dataclass
class LoadOptions:
    run: RunOptions
    users: int = 10
    duration_s: float = 30.0
    ramp_up_s: float = 0.0
    rate: float | None = None
    workers: int = 1
    thresholds: list[Threshold] = field(default_factory=list)
    score_sample: float = 0.01
    ramp_until: Threshold | None = None
    step_s: float = 20.0
    max_users: int = 1000
    seed: int = 0


class LoadObserver(Protocol):
    """What the live view is told (the driver draws nothing itself)."""

    def update(self, stats: LoadStats, target_users: int) -> None: ...


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def spread(total: int, workers: int) -> list[int]:
    """``total`` users over ``workers`` as evenly as possible (the first ones take the remainder)."""
    return [total // workers + (1 if index < total % workers else 0) for index in range(workers)]


def users_at(options: LoadOptions, elapsed: float) -> int:
    """Closed model: users wanted ``elapsed`` s into the run (linear ramp-up)."""
    if options.ramp_up_s <= 0 or elapsed >= options.ramp_up_s:
        return options.users
    return min(options.users, math.ceil(options.users * elapsed / options.ramp_up_s))


async def run_load(
    scenarios: Sequence[Scenario], options: LoadOptions, observer: LoadObserver | None = None
) -> tuple[RunReport, Path, list[ThresholdResult]]:
    """Run the load; the run directory holds report.json (with ``load``), the sampled sessions'
    timelines and audio, junit.xml, summary.md and index.html (written on Ctrl-C too)."""
    run_dir = RunDirectory(options.run, scenarios)
    stats = LoadStats()
    levels: list[LevelResult] = []
    results: list[ThresholdResult] = []
    lost: list[str] = []
    interrupted = False
    workers: LocalWorkers | None = None
    try:
        async with TargetPool(options.run, open_target) as targets:
            resolved = await targets.get(scenarios[0])
            configs = [
                WorkerConfig(
                    worker=f"w{index}",
                    scenarios=tuple(scenarios),
                    target=resolved,
                    connect=options.run.connect,
                    run_dir=run_dir.path,
                    score_sample=options.score_sample,
                    sample_first=index == 0,
                    seed=options.seed,
                )
                for index in range(options.workers)
            ]
            async with LocalWorkers(configs) as workers:
                stats = LoadStats()  # the clock starts when the workers do
                if options.ramp_until is not None:
                    levels = await _breakpoint(workers, configs, stats, options, observer)
                else:
                    await _steady(workers, configs, stats, options, observer)
                workers.stop()
                await _drain(workers, stats, observer, 0)
                lost = workers.lost()
    except (asyncio.CancelledError, KeyboardInterrupt):
        interrupted = True
        if workers is not None:
            workers.stop()
        raise
    finally:
        samples = [] if workers is None else [r for w in sorted(workers.samples) for r in workers.samples[w]]
        for position, sample in enumerate(samples):
            run_dir.add(position, sample)
        for offset, name in enumerate(lost):
            gone = ScenarioReport(
                name=f"<{name}>", error=f"worker {name} was lost", failure_kind=FailureKind.WORKER_LOST
            )
            run_dir.add(len(samples) + offset, gone)
        results = [t.check(stats.total, stats.counters) for t in options.thresholds]
        summary = build_summary(stats, options, results, levels, lost)
        run_dir.header = run_dir.header.model_copy(update={"load": summary})
        _merge_timelines(run_dir.path)
        report = run_dir.finish(interrupted=interrupted)
    return report, run_dir.path, results


async def _pump(
    workers: LocalWorkers, stats: LoadStats, observer: LoadObserver | None, wanted: int, seconds: float
) -> None:
    async for snapshot in workers.messages(seconds):
        stats.add(snapshot)
    if observer is not None:
        observer.update(stats, wanted)


async def _steady(
    workers: LocalWorkers,
    configs: list[WorkerConfig],
    stats: LoadStats,
    options: LoadOptions,
    observer: LoadObserver | None,
) -> None:
    sent: dict[str, float] = {}
    while (elapsed := stats.elapsed()) < options.duration_s:
        if options.rate is not None:
            ramp = 1.0 if options.ramp_up_s <= 0 else min(1.0, elapsed / options.ramp_up_s)
            shares = [options.rate * ramp / len(configs)] * len(configs)
            kind, wanted = "rate", 0
        else:
            wanted = users_at(options, elapsed)
            shares = [float(n) for n in spread(wanted, len(configs))]
            kind = "users"
        for config, share in zip(configs, shares, strict=True):
            if sent.get(config.worker) != share:
                workers.send(config.worker, kind, share if kind == "rate" else int(share))
                sent[config.worker] = share
        await _pump(workers, stats, observer, wanted, TICK_S)


async def _breakpoint(
    workers: LocalWorkers,
    configs: list[WorkerConfig],
    stats: LoadStats,
    options: LoadOptions,
    observer: LoadObserver | None,
) -> list[LevelResult]:
    """Add ``options.users`` users per step until ``options.ramp_until`` breaks (or max users)."""
    assert options.ramp_until is not None
    levels: list[LevelResult] = []
    users = 0
    while users + options.users <= options.max_users:
        users += options.users
        for config, share in zip(configs, spread(users, len(configs)), strict=True):
            workers.send(config.worker, "users", share)
        step_start = stats.elapsed()
        while stats.elapsed() - step_start < options.step_s * SETTLE_FRACTION:
            await _pump(workers, stats, observer, users, TICK_S)
        judged = stats.judged = MetricHistograms()
        failed_before = stats.counters.sessions_failed
        finished_before = stats.counters.sessions_finished
        while stats.elapsed() - step_start < options.step_s:
            await _pump(workers, stats, observer, users, TICK_S)
        stats.judged = None
        counters = stats.counters
        failed = counters.sessions_failed - failed_before
        finished = counters.sessions_finished - finished_before
        level = LevelResult.measure(users, judged, failed, finished, options.ramp_until)
        levels.append(level)
        if not level.held:
            break
    return levels


async def _drain(workers: LocalWorkers, stats: LoadStats, observer: LoadObserver | None, wanted: int) -> None:
    """After stop: read until every worker sent its last snapshot and its samples (or died)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while not workers.all_finished and loop.time() < deadline:
        await _pump(workers, stats, observer, wanted, TICK_S)


def _merge_timelines(run_dir: Path) -> None:
    """The workers' sampled timelines into the run's timeline.jsonl (each record names its session)."""
    target = run_dir / "timeline.jsonl"
    parts = sorted(run_dir.glob("timeline.w*.jsonl"))
    with target.open("a", encoding="utf-8") as out:
        for part in parts:
            out.write(part.read_text(encoding="utf-8"))
            part.unlink()
