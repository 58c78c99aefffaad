"""Load statistics: what a worker measures, what it ships, and how the driver adds them up.

A worker keeps cumulative counters, two gauges (sessions active and connecting) and histograms of
the values recorded since its last snapshot (an interval, as HdrHistogram's Recorder does). Every
second it ships a :class:`WorkerSnapshot`; the driver's :class:`LoadStats` merges intervals into
the run's totals, a 10 s window for the live view (as Locust's "current" percentiles) and 5 s
buckets for the time series. Only durations cross processes (or machines): no clock is shared.
"""

from __future__ import annotations

import os
import resource
import time
from collections import deque
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from harness.load.histograms import MetricHistograms
from harness.report.model import FailureKind

WINDOW_S = 10.0
SERIES_BUCKET_S = 5.0
SEND_LAG = "send_lag_ms"
CONNECT = "connect_ms"  # alias users type for connect_total_ms
DISTINCT_REASONS = 20  # failure reasons kept word for word; the rest are counted under OTHER_REASONS
OTHER_REASONS = "(other reasons)"


@dataclass
class Counters:
    sessions_started: int = 0
    sessions_completed: int = 0  # ran every turn with no error
    sessions_failed: int = 0
    turns_completed: int = 0
    packets_sent: int = 0  # audio RTP, summed over finished sessions
    packets_received: int = 0
    packets_lost: int = 0
    remote_packets_lost: int = 0  # of the audio sent, what the target reported lost (its receiver reports)
    sessions_dropped: int = 0  # open model: arrivals not started, the node's session cap reached
    failures_by_kind: dict[str, int] = field(default_factory=dict)
    error_events: dict[str, int] = field(default_factory=dict)  # server `error` events by code
    failure_reasons: dict[str, int] = field(default_factory=dict)  # "kind: message" -> sessions

    def count_failures(self, kind: str, message: str | None, n: int = 1) -> None:
        """Failed sessions, by kind and by their one-line reason (so a soak's failures can be told apart)."""
        self.sessions_failed += n
        self.failures_by_kind[kind] = self.failures_by_kind.get(kind, 0) + n
        self._count_reason(f"{kind}: {message or 'no message'}"[:200], n)

    def _count_reason(self, reason: str, n: int) -> None:
        if reason not in self.failure_reasons and len(self.failure_reasons) >= DISTINCT_REASONS:
            reason = OTHER_REASONS
        self.failure_reasons[reason] = self.failure_reasons.get(reason, 0) + n

    def add(self, other: Counters) -> None:
        self.sessions_started += other.sessions_started
        self.sessions_completed += other.sessions_completed
        self.sessions_failed += other.sessions_failed
        self.turns_completed += other.turns_completed
        self.packets_sent += other.packets_sent
        self.packets_received += other.packets_received
        self.packets_lost += other.packets_lost
        self.remote_packets_lost += other.remote_packets_lost
        self.sessions_dropped += other.sessions_dropped
        for kind, n in other.failures_by_kind.items():
            self.failures_by_kind[kind] = self.failures_by_kind.get(kind, 0) + n
        for code, n in other.error_events.items():
            self.error_events[code] = self.error_events.get(code, 0) + n
        for reason, n in other.failure_reasons.items():
            self._count_reason(reason, n)

    @property
    def sessions_finished(self) -> int:
        return self.sessions_completed + self.sessions_failed

    @property
    def error_rate(self) -> float:
        """Failed sessions over finished ones (0 before any finished)."""
        return self.sessions_failed / self.sessions_finished if self.sessions_finished else 0.0

    def copy(self) -> Counters:
        kinds, errors = dict(self.failures_by_kind), dict(self.error_events)
        reasons = dict(self.failure_reasons)
        return replace(self, failures_by_kind=kinds, error_events=errors, failure_reasons=reasons)


@dataclass
class WorkerSnapshot:
    """What a worker ships every second (plain data: it pickles and JSON-encodes)."""

    worker: str
    host: str
    pid: int
    node: str  # the Ray node the worker runs on; the host name for a local worker process
    elapsed_s: float  # on the worker's own clock since it started
    active: int
    connecting: int
    users: int  # sessions the worker is asked to keep live (closed model)
    counters: Counters
    interval: dict[str, str]  # encoded histograms of values recorded since the last snapshot
    cpu_cores: float  # CPU seconds per second over the interval
    rss_mb: float
    baseline_rss_mb: float = 0.0  # peak RSS when the worker was ready, before any session
    done: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorkerSnapshot:
        return cls(**{**data, "counters": Counters(**data["counters"])})


class WorkerMeter:
    """A worker's side: record values and events, cut snapshots."""

    def __init__(self, worker: str) -> None:
        self.worker = worker
        self.host = os.uname().nodename
        self.node = self.host
        self.started = time.monotonic()
        self.counters = Counters()
        self.active = 0
        self.connecting = 0
        self.users = 0
        self._interval = MetricHistograms()
        self._cpu = (time.process_time(), time.monotonic())
        self.baseline_rss_mb = 0.0

    def mark_baseline(self) -> None:
        """The worker is ready (clips encoded, nothing live): memory from here on is the sessions'."""
        self.baseline_rss_mb = _peak_rss_mb()

    def record(self, metric: str, value_ms: float | None) -> None:
        if value_ms is not None and value_ms >= 0:
            self._interval.record(metric, value_ms)

    def snapshot(self, *, done: bool = False) -> WorkerSnapshot:
        cpu, wall = time.process_time(), time.monotonic()
        cores = (cpu - self._cpu[0]) / max(wall - self._cpu[1], 1e-6)
        self._cpu = (cpu, wall)
        interval, self._interval = self._interval, MetricHistograms()
        return WorkerSnapshot(
            worker=self.worker,
            host=self.host,
            pid=os.getpid(),
            node=self.node,
            elapsed_s=round(wall - self.started, 3),
            active=self.active,
            connecting=self.connecting,
            users=self.users,
            counters=self.counters.copy(),
            interval=interval.encode(),
            cpu_cores=round(cores, 3),
            rss_mb=_peak_rss_mb(),
            baseline_rss_mb=self.baseline_rss_mb,
            done=done,
        )


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


@dataclass
class SeriesPoint:
    """One 5 s bucket of the run, on the driver's clock."""

    t_s: float
    active: int = 0
    connecting: int = 0
    failed: int = 0  # sessions that failed in this bucket
    error_events: int = 0
    first_audio_p50_ms: float | None = None
    first_audio_p95_ms: float | None = None
    turns: int = 0


class LoadStats:
    """The driver's side: the latest snapshot per worker, the run's totals, a window and a series.

    Only the totals keep every metric; the 10 s window keeps the live view's metrics and a series
    bucket only first audio, so memory stays flat over a long soak.
    """

    LIVE_METRICS = ("first_audio_ms", SEND_LAG, "connect_total_ms")

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.workers: dict[str, WorkerSnapshot] = {}
        self.total = MetricHistograms()
        self.judged: MetricHistograms | None = None  # a breakpoint step's histograms, when judging
        self.peak_active = 0
        self.cpu_peak: dict[str, float] = {}
        self.rss_peak: dict[str, float] = {}
        self._window: deque[tuple[float, MetricHistograms]] = deque()
        self._series: list[SeriesPoint] = []
        self._bucket_histograms = MetricHistograms()
        self._last_counters = Counters()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def add(self, snapshot: WorkerSnapshot) -> None:
        now = self.elapsed()
        latest = self.workers.get(snapshot.worker)
        # Replies may cross (Ray) and a lost worker's last message may come late: a final
        # snapshot stays final, and an older one never replaces a newer one.
        if latest is None or (not latest.done and snapshot.elapsed_s >= latest.elapsed_s):
            self.workers[snapshot.worker] = snapshot
        interval = MetricHistograms()
        interval.add_encoded(snapshot.interval)
        self.total.add(interval)
        if self.judged is not None:
            self.judged.add(interval)
        live = interval.only(self.LIVE_METRICS)
        self._window.append((now, live))
        while self._window and self._window[0][0] < now - WINDOW_S:
            self._window.popleft()
        self.peak_active = max(self.peak_active, self.active)
        self.cpu_peak[snapshot.worker] = max(self.cpu_peak.get(snapshot.worker, 0.0), snapshot.cpu_cores)
        self.rss_peak[snapshot.worker] = max(self.rss_peak.get(snapshot.worker, 0.0), snapshot.rss_mb)
        self._bucket(now, live)

    def lose(self, worker: str) -> int:
        """A worker died: the sessions it had live at its last snapshot end as failed
        (``worker_lost``), and it keeps no users. Returns how many."""
        latest = self.workers.get(worker)
        if latest is None or latest.done:
            return 0
        counters = latest.counters.copy()
        lost = latest.active
        if lost:
            counters.count_failures(FailureKind.WORKER_LOST, f"worker {worker} was lost", lost)
        self.workers[worker] = replace(
            latest, counters=counters, active=0, connecting=0, users=0, interval={}, done=True
        )
        self._bucket(self.elapsed(), MetricHistograms())
        return lost

    def _bucket(self, now: float, live: MetricHistograms) -> None:
        start = int(now // SERIES_BUCKET_S) * SERIES_BUCKET_S
        if not self._series or self._series[-1].t_s != start:
            self._series.append(SeriesPoint(t_s=start))
            self._bucket_histograms = MetricHistograms()
        point = self._series[-1]
        self._bucket_histograms.add(live.only(("first_audio_ms",)))
        counters = self.counters
        point.active = max(point.active, self.active)
        point.connecting = max(point.connecting, self.connecting)
        point.failed += counters.sessions_failed - self._last_counters.sessions_failed
        point.turns += counters.turns_completed - self._last_counters.turns_completed
        point.error_events += sum(counters.error_events.values()) - sum(
            self._last_counters.error_events.values()
        )
        self._last_counters = counters
        summary = self._bucket_histograms.summary("first_audio_ms")
        point.first_audio_p50_ms, point.first_audio_p95_ms = summary["p50"], summary["p95"]

    @property
    def counters(self) -> Counters:
        total = Counters()
        for snapshot in self.workers.values():
            total.add(snapshot.counters)
        return total

    @property
    def active(self) -> int:
        return sum(s.active for s in self.workers.values())

    @property
    def connecting(self) -> int:
        return sum(s.connecting for s in self.workers.values())

    @property
    def users(self) -> int:
        return sum(s.users for s in self.workers.values())

    def window(self) -> MetricHistograms:
        """The live view's metrics over the last 10 s, all workers."""
        recent = MetricHistograms()
        for _, interval in self._window:
            recent.add(interval)
        return recent

    def series(self) -> list[SeriesPoint]:
        return list(self._series)
