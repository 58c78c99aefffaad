"""The load driver: opens the target, starts the workers, schedules users, merges what they measure.

Closed model (``--users N``): N sessions kept live, ramped linearly over ``--ramp-up``. Open model
(``--rate R``): R sessions started per second, whatever those running do. Breakpoint
(``--ramp-until EXPR``): ``--users`` more every ``--step`` seconds until the threshold breaks;
the last level that held is the answer. Users are spread over the live workers evenly, within
each node's session cap (:mod:`harness.load.placement`); only the driver knows the schedule, the
workers only obey ``users``/``rate``/``cap``. The workers run in local processes or as Ray actors
(``--ray``): the driver sees one :class:`~harness.load.host.WorkerHost` either way.
"""

from __future__ import annotations

import asyncio
import math
import os
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from harness.errors import UsageError
from harness.load.cost import is_ours
from harness.load.histograms import MetricHistograms
from harness.load.host import WorkerHost
from harness.load.local import LocalWorkers
from harness.load.placement import Placement
from harness.load.stats import LoadStats
from harness.load.summary import LevelResult, build_summary
from harness.load.thresholds import Threshold, ThresholdResult
from harness.load.worker import STOP_GRACE_S, WorkerConfig
from harness.report.model import FailureKind, RunReport, ScenarioReport
from harness.runner.options import RunOptions
from harness.runner.run_dir import RunDirectory
from harness.runner.targets import TargetPool, open_target
from harness.scenario import Scenario

TICK_S = 0.25
SETTLE_FRACTION = 0.25  # of each breakpoint step, not judged (sessions still connecting)
DRAIN_S = 60.0  # after stop and its grace: how long to wait for every worker's last snapshot and samples


@dataclass
class LoadOptions:
    run: RunOptions
    users: int = 10
    duration_s: float = 30.0
    ramp_up_s: float = 0.0
    rate: float | None = None
    workers: int | None = None  # None: the cores available here, or every CPU of the Ray cluster
    thresholds: list[Threshold] = field(default_factory=list)
    score_sample: float = 0.01
    ramp_until: Threshold | None = None
    step_s: float = 20.0
    max_users: int = 1000
    seed: int = 0
    ray: str | None = None  # a Ray address (``local`` starts one): the workers run as Ray actors
    max_sessions_per_node: int | None = None
    # When the duration ends, sessions still running get this long to finish (k6's gracefulStop,
    # whose default this is); a stop by Ctrl-C or SIGTERM gives them the workers' short grace.
    graceful_stop_s: float = 30.0


class LoadObserver(Protocol):
    """What the live view is told (the driver draws nothing itself)."""

    def update(self, stats: LoadStats, target_users: int) -> None: ...


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def users_at(options: LoadOptions, elapsed: float) -> int:
    """Closed model: users wanted ``elapsed`` s into the run (linear ramp-up)."""
    if options.ramp_up_s <= 0 or elapsed >= options.ramp_up_s:
        return options.users
    return min(options.users, math.ceil(options.users * elapsed / options.ramp_up_s))


def check_reachable(scenarios: Sequence[Scenario], options: LoadOptions) -> None:
    """Workers on other machines cannot reach this machine's loopback (where ``--target local``
    serves): refuse before anything starts."""
    if options.ray in (None, "local"):
        return
    for target in {scenario.target or options.run.target for scenario in scenarios}:
        if is_ours(target):
            raise UsageError(
                f"--ray {options.ray} with target {target}: the cluster's nodes cannot reach this "
                "machine's loopback; run `rth serve --load --host 0.0.0.0` where they can reach it "
                "and pass --target http://HOST:PORT/v1 (or use --ray local)"
            )


async def run_load(
    scenarios: Sequence[Scenario], options: LoadOptions, observer: LoadObserver | None = None
) -> tuple[RunReport, Path, list[ThresholdResult]]:
    """Run the load; the run directory holds report.json (with ``load``), the sampled sessions'
    timelines and audio, junit.xml, summary.md and index.html. Interrupted (a cancel: SIGINT or
    SIGTERM), the workers still stop their sessions and send their figures and samples, and the
    report is written ``interrupted: true``."""
    check_reachable(scenarios, options)
    run_dir = RunDirectory(options.run, scenarios)
    stats = LoadStats()
    levels: list[LevelResult] = []
    results: list[ThresholdResult] = []
    lost: list[str] = []
    interrupted = False
    workers: WorkerHost | None = None
    try:
        async with AsyncExitStack() as stack:
            host = _host_factory(options, stack)  # Ray first: its processes start on their own
            targets = await stack.enter_async_context(TargetPool(options.run, open_target))
            resolved = tuple([await targets.get(scenario) for scenario in scenarios])
            configs = [
                WorkerConfig(
                    worker=f"w{index}",
                    scenarios=tuple(scenarios),
                    target=resolved[0],
                    scenario_targets=resolved,
                    connect=options.run.connect,
                    run_dir=run_dir.path,
                    score_sample=options.score_sample,
                    sample_first=index == 0,
                    seed=options.seed,
                    client_network=options.run.client_network,
                )
                for index in range(host.count)
            ]
            workers = await stack.enter_async_context(host.make(configs))
            stats = LoadStats()  # the clock starts when the workers do
            placement = Placement(workers, options.max_sessions_per_node)
            grace_s: float | None = None  # interrupted: the workers' own short grace
            try:
                _check_capacity(options, placement)
                if options.ramp_until is not None:
                    levels = await _breakpoint(workers, placement, stats, options, observer)
                else:
                    await _steady(workers, placement, stats, options, observer)
                grace_s = options.graceful_stop_s
            finally:  # Ctrl-C too: the workers' last snapshots and sampled sessions are kept
                await _stop(workers, stats, observer, grace_s)
                lost = workers.lost()
    except (asyncio.CancelledError, KeyboardInterrupt):
        interrupted = True
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


@dataclass
class _Hosting:
    count: int
    make: Callable[[list[WorkerConfig]], WorkerHost]


def _host_factory(options: LoadOptions, stack: AsyncExitStack) -> _Hosting:
    """Local worker processes, or Ray actors (connecting to Ray, closed with ``stack``)."""
    if options.ray is None:
        return _Hosting(options.workers or default_workers(), LocalWorkers)
    from harness.load.ray_host import RayCluster, RayWorkers  # the one module that imports Ray

    # Blocks the loop for the seconds Ray takes to start or join; nothing else runs yet.
    cluster = RayCluster.connect(options.ray, local_cpus=options.workers or default_workers())
    stack.push_async_callback(cluster.close)
    count = options.workers or max(1, cluster.cpus())
    return _Hosting(count, lambda configs: RayWorkers(configs, cluster))


def _check_capacity(options: LoadOptions, placement: Placement) -> None:
    capacity = placement.capacity()
    if capacity is None or options.ramp_until is not None or options.rate is not None:
        return
    if options.users > capacity:
        raise UsageError(
            f"--users {options.users} is more than the workers' nodes hold at --max-sessions-per-node "
            f"{options.max_sessions_per_node} ({capacity}); add nodes or raise the cap"
        )


async def _pump(
    workers: WorkerHost, stats: LoadStats, observer: LoadObserver | None, wanted: int, seconds: float
) -> None:
    async for snapshot in workers.messages(seconds):
        stats.add(snapshot)
    for name in workers.lost():
        stats.lose(name)  # its live sessions end as worker_lost (once; later calls find it done)
    if observer is not None:
        observer.update(stats, wanted)


async def _steady(
    workers: WorkerHost,
    placement: Placement,
    stats: LoadStats,
    options: LoadOptions,
    observer: LoadObserver | None,
) -> None:
    while (elapsed := stats.elapsed()) < options.duration_s:
        wanted = 0
        if options.rate is not None:
            ramp = 1.0 if options.ramp_up_s <= 0 else min(1.0, elapsed / options.ramp_up_s)
            placement.rate(options.rate * ramp)
        else:
            wanted = users_at(options, elapsed)
            placement.users(wanted)
        await _pump(workers, stats, observer, wanted, TICK_S)


async def _breakpoint(
    workers: WorkerHost,
    placement: Placement,
    stats: LoadStats,
    options: LoadOptions,
    observer: LoadObserver | None,
) -> list[LevelResult]:
    """Add ``options.users`` users per step until ``options.ramp_until`` breaks (or max users, or
    the nodes' session cap)."""
    assert options.ramp_until is not None
    levels: list[LevelResult] = []
    users = 0
    while users + options.users <= min(options.max_users, placement.capacity() or options.max_users):
        users += options.users
        step_start = stats.elapsed()
        while stats.elapsed() - step_start < options.step_s * SETTLE_FRACTION:
            placement.users(users)
            await _pump(workers, stats, observer, users, TICK_S)
        judged = stats.judged = MetricHistograms()
        failed_before = stats.counters.sessions_failed
        finished_before = stats.counters.sessions_finished
        while stats.elapsed() - step_start < options.step_s:
            placement.users(users)
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


async def _stop(
    workers: WorkerHost, stats: LoadStats, observer: LoadObserver | None, grace_s: float | None
) -> None:
    """Stop the workers and read their last figures. Ctrl-C during a graceful stop cuts the
    sessions after the short grace instead, and their figures and samples are still read."""
    workers.stop(grace_s)
    try:
        await _drain(workers, stats, observer, 0, (STOP_GRACE_S if grace_s is None else grace_s) + DRAIN_S)
    except asyncio.CancelledError:
        if grace_s is None:
            raise
        workers.stop(None)
        await _drain(workers, stats, observer, 0, STOP_GRACE_S + DRAIN_S)
        raise


async def _drain(
    workers: WorkerHost, stats: LoadStats, observer: LoadObserver | None, wanted: int, seconds: float
) -> None:
    """After stop: read until every worker sent its last snapshot and its samples (or died)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
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
