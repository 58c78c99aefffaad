"""A load worker: one event loop keeping many sessions live against one target.

The driver tells it how many users to keep live (closed model: each user loops its scenario) or
how many sessions to start per second (open model), and asks for a snapshot every second or two.
Every method is a plain async or sync method on one object, so a local worker process
(:mod:`harness.load.local`) and a Ray actor (:mod:`harness.load.ray_host`, through
:mod:`harness.load.remote`) host the same class unchanged.

Most sessions are counted, not kept: their timeline stays in memory until their latencies are
read into histograms, and their reply audio is not recorded. A sample (``score_sample``, at least
the first session of worker 0) is run exactly as ``rth run`` runs a session: timeline streamed to
the run directory, audio captured, scored (WER, verdicts) in a worker process.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from harness.client import ConnectMode, RealtimeSession
from harness.client.opus_input import OpusClipCache
from harness.load.stats import SEND_LAG, WorkerMeter, WorkerSnapshot
from harness.metrics import connect_latency, session_latency
from harness.protocol import ServerEventType
from harness.protocol.faults import NetworkSpec
from harness.report.model import FailureKind, ScenarioReport
from harness.runner.plan import PlannedRun, Variant
from harness.runner.session_run import SessionDriver, score_and_keep
from harness.runner.speech import ClipCache, prepare_turn_clips
from harness.runner.targets import ResolvedTarget
from harness.runner.workers import CpuPool, InlinePool, ProcessPool
from harness.scenario import Scenario
from harness.scoring import SessionRecord
from harness.timeline import EntryKind, Timeline

logger = logging.getLogger(__name__)

STOP_GRACE_S = 5.0  # a stop with no grace of its own (Ctrl-C): sessions get this long, then are cancelled
RETRY_PAUSE_S = 1.0  # a user whose session failed within this long waits this long before the next


@dataclass(frozen=True)
class WorkerConfig:
    """Everything a worker needs, picklable (it crosses into a process or a Ray actor)."""

    worker: str
    scenarios: tuple[Scenario, ...]
    target: ResolvedTarget
    connect: ConnectMode
    run_dir: Path  # sampled sessions write their audio and timeline here
    score_sample: float = 0.0
    sample_first: bool = False  # sample this worker's first session (the run keeps at least one)
    seed: int = 0
    scenario_targets: tuple[ResolvedTarget, ...] = ()  # per scenario (its own `target:`); else target
    client_network: NetworkSpec | None = None  # `--client-network`, for scenarios without their own

    def target_of(self, index: int) -> ResolvedTarget:
        """Where scenario ``index`` calls: its own ``target:`` if it names one, else the run's."""
        return self.scenario_targets[index] if self.scenario_targets else self.target


class SampleStore:
    """Where a worker's sampled sessions go: their own timeline file, reports kept in memory."""

    def __init__(self, run_dir: Path, worker: str) -> None:
        self.path = run_dir
        self._file: IO[str] | None = None
        self._name = f"timeline.{worker}.jsonl"
        self.reports: dict[int, ScenarioReport] = {}

    @property
    def timeline(self) -> IO[str]:
        if self._file is None:
            self._file = (self.path / self._name).open("w", encoding="utf-8")
        return self._file

    def add(self, position: int, report: ScenarioReport) -> None:
        self.reports[position] = report

    def close_stream(self) -> None:
        if self._file is not None:
            self._file.close()


class LoadWorker:
    """Hosts sessions on the running event loop; commands and snapshots are cheap sync calls."""

    def __init__(self, config: WorkerConfig) -> None:
        self.config = config
        self.meter = WorkerMeter(config.worker)
        self.samples = SampleStore(config.run_dir, config.worker)
        self._rng = random.Random(f"{config.seed}/{config.worker}")
        self._scratch = Path(tempfile.mkdtemp(prefix=f"rth-load-{config.worker}-"))
        self._clips = ClipCache(self._scratch)
        self._opus = OpusClipCache(max_clips=64)
        self._users: list[asyncio.Task[None]] = []
        self._sessions: set[asyncio.Task[bool]] = set()
        self._numbers = itertools.count()
        self._rate = 0.0
        self._max_sessions: int | None = None
        self._stopping = asyncio.Event()
        self._scoring: ProcessPool | None = None
        self._ready = asyncio.Event()  # set once every clip is prepared and encoded

    # ---- commands from the driver -----------------------------------------------------------

    def command(self, kind: str, value: float | None = None) -> None:
        """A driver command by name, as the hosts forward them: users, rate, cap, stop."""
        if kind == "users":
            self.set_users(int(value or 0))
        elif kind == "rate":
            self.set_rate(float(value or 0.0))
        elif kind == "cap":
            self.set_max_sessions(None if value is None else int(value))
        elif kind == "stop":
            self.stop(STOP_GRACE_S if value is None else float(value))
        else:
            raise ValueError(f"unknown load worker command {kind!r}")

    def set_max_sessions(self, limit: int | None) -> None:
        """At most ``limit`` sessions live here (this worker's share of its node's cap): fewer users,
        and open-model arrivals beyond it are dropped (counted, as k6's dropped iterations)."""
        self._max_sessions = limit
        if limit is not None and len(self._users) > limit:
            self.set_users(limit)

    def set_users(self, users: int) -> None:
        """Keep ``users`` sessions live (each user starts its next session when one ends)."""
        if self._max_sessions is not None:
            users = min(users, self._max_sessions)
        self.meter.users = users
        while len(self._users) < users and not self._stopping.is_set():
            index = len(self._users)
            self._users.append(asyncio.create_task(self._user(index), name=f"rth-user-{index}"))
        for extra in self._users[users:]:
            extra.cancel()  # fewer users: the extra ones' sessions end now (counted as interrupted)
        del self._users[users:]

    def set_rate(self, sessions_per_s: float) -> None:
        """Start sessions at this rate whatever the ones running do (open model)."""
        self._rate = sessions_per_s

    def snapshot(self) -> WorkerSnapshot:
        return self.meter.snapshot()

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """Start no more sessions; those running get ``grace_s`` to finish, then are cancelled.
        Each stop sets its own cut, so a later, shorter one (Ctrl-C during the graceful stop)
        cuts them sooner."""
        self._stopping.set()
        asyncio.get_running_loop().call_later(grace_s, self._cut_running)

    def _cut_running(self) -> None:
        for task in [*self._users, *self._sessions]:
            task.cancel()

    # ---- running ----------------------------------------------------------------------------

    async def run(self) -> list[ScenarioReport]:
        """Until :meth:`stop`: host the users and the open-model arrivals; then let running
        sessions end (a grace period), cancel the rest, and return the sampled sessions' reports."""
        arrivals = asyncio.create_task(self._arrivals(), name="rth-arrivals")
        try:
            await self._warm_clips()
            self.meter.mark_baseline()
            self._ready.set()
            await self._stopping.wait()
        finally:
            if not self._stopping.is_set():  # cancelled rather than stopped: the short grace
                self.stop()
            arrivals.cancel()
            # each running session ends, or is cut when its stop's grace is over
            await asyncio.gather(*self._users, *self._sessions, return_exceptions=True)
            if self._scoring is not None:
                await self._scoring.__aexit__(None, None, None)
            self.samples.close_stream()
            shutil.rmtree(self._scratch, ignore_errors=True)
        return [self.samples.reports[k] for k in sorted(self.samples.reports)]

    async def _user(self, index: int) -> None:
        loop = asyncio.get_running_loop()
        for iteration in itertools.count():
            if self._stopping.is_set():
                return
            scenarios = self.config.scenarios
            started = loop.time()
            failed = await self._session((index + iteration) % len(scenarios))
            if failed and loop.time() - started < RETRY_PAUSE_S:
                await asyncio.sleep(RETRY_PAUSE_S)  # a target refusing at once is not hammered

    async def _arrivals(self) -> None:
        """Open model: a session every 1/rate s (re-read each time, so the driver can ramp it)."""
        for arrival in itertools.count():
            if self._rate <= 0:
                await asyncio.sleep(0.1)
                continue
            if self._max_sessions is not None and len(self._sessions) >= self._max_sessions:
                self.meter.counters.sessions_dropped += 1
            else:
                task = asyncio.create_task(self._session(arrival % len(self.config.scenarios)))
                self._sessions.add(task)
                task.add_done_callback(self._sessions.discard)
            await asyncio.sleep(1.0 / self._rate)

    async def _warm_clips(self) -> None:
        """Prepare and Opus-encode every clip of every scenario before the first session, so no
        session's pacing waits on a first-use encode."""
        for scenario in self.config.scenarios:
            for index in range(len(scenario.turns)):
                clips = await prepare_turn_clips(InlinePool(), scenario, index, _Unnamed(), self._clips)
                for clip in (clips.audio, *clips.barge_ins):
                    if clip is not None:
                        self._opus.get(clip.path)

    async def _session(self, index: int) -> bool:
        """Run one session of scenario ``index``; True when it failed."""
        await self._ready.wait()
        scenario = self.config.scenarios[index]
        number = next(self._numbers)
        sampled = self._should_sample(number)
        name = f"{self.config.worker}/{number:05d}-{scenario.name}"
        planned = PlannedRun(scenario, Variant(), 0, 1, name=name)
        timeline = Timeline(name, stream=self.samples.timeline if sampled else None)
        audio_dir = self.config.run_dir / "audio" / name if sampled else self._scratch
        audio_dir.mkdir(parents=True, exist_ok=True)
        pool = await self._scoring_pool() if sampled else InlinePool()
        driver = SessionDriver(
            planned,
            self.config.target_of(index),
            self.config.connect,
            timeline,
            audio_dir,
            pool,
            record_output=sampled,
            clip_cache=self._clips,
            opus_clips=None if sampled else self._opus,  # the hot path for every counted session
            network=self.config.client_network,
        )
        meter = self.meter
        meter.counters.sessions_started += 1
        meter.active += 1
        meter.connecting += 1
        connected = False
        measured = _TurnsMeasured(meter, timeline)

        def on_connected(session: RealtimeSession) -> None:
            nonlocal connected
            connected = True
            meter.connecting -= 1
            measured.connect()
            session.pacing.observe = lambda lateness_s: meter.record(SEND_LAG, lateness_s * 1000)

        try:
            await driver.drive(on_turn=lambda turn: measured.before(turn.index), on_connected=on_connected)
        finally:
            meter.active -= 1
            if not connected:
                meter.connecting -= 1
            await driver.close()
            measured.before(None)  # the rest, a cut turn's too: what was measured was measured
            record = driver.record(self.config.run_dir)
            self._count(record)
            if sampled:
                await score_and_keep(pool, record, lambda report: self.samples.add(number, report))
        return record.failure_kind is not None

    def _should_sample(self, number: int) -> bool:
        if number == 0 and self.config.sample_first:
            return True
        return self.config.score_sample > 0 and self._rng.random() < self.config.score_sample

    async def _scoring_pool(self) -> CpuPool:
        if self._scoring is None:
            self._scoring = await ProcessPool(1).__aenter__()
        return self._scoring

    def _count(self, record: SessionRecord) -> None:
        """A finished session's outcome into the counters (the turns it completed even when the run's
        end or a stop cut it: what was measured was measured)."""
        counters = self.meter.counters
        for entry in record.entries:
            if entry.kind == EntryKind.RECEIVED and entry.type == ServerEventType.ERROR:
                code = str((entry.data.get("error") or {}).get("code") or "unknown")
                counters.error_events[code] = counters.error_events.get(code, 0) + 1
        counters.turns_completed += sum(turn.error is None for turn in record.turns)
        rtp = record.rtp or {}
        counters.packets_sent += int(rtp.get("packets_sent") or 0)
        counters.packets_received += int(rtp.get("packets_received") or 0)
        counters.packets_lost += int(rtp.get("packets_lost") or 0)
        counters.remote_packets_lost += int(rtp.get("remote_packets_lost") or 0)
        kind = record.failure_kind
        if kind == FailureKind.INTERRUPTED:
            return  # cut by the end of the run or a stop: neither completed nor failed
        if kind is None:
            counters.sessions_completed += 1
        else:
            counters.count_failures(kind, record.error)


class _TurnsMeasured:
    """Latencies go into the histograms as soon as they are final (a turn's, when the next one
    starts), so a long scenario still reports during a short run and a cut session keeps its own."""

    def __init__(self, meter: WorkerMeter, timeline: Timeline) -> None:
        self.meter, self.timeline = meter, timeline
        self.recorded = 0  # turns below this index are in the histograms

    def connect(self) -> None:
        for name, value in connect_latency(self.timeline.entries).items():
            self.meter.record(name, value)

    def before(self, index: int | None) -> None:
        """Record every turn before ``index`` (None: all the rest) not recorded yet."""
        upto = index if index is not None else len(self.timeline.entries) + 1
        if upto <= self.recorded:
            return
        for turn in session_latency(self.timeline.entries).turns:
            if self.recorded <= turn.turn < upto:
                for name, value in turn.metrics.items():
                    self.meter.record(name, value)
        self.recorded = upto


class _Unnamed:
    """File names for clips the cache names itself."""

    def sent_path(self, suffix: str) -> Path:
        return Path(f"unused.{suffix}.wav")
