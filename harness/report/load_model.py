"""The ``load`` object of report.json: what ``rth load`` measured, merged over its workers."""

from __future__ import annotations

from pydantic import BaseModel, Field

Percentiles = dict[str, float | None]  # count, p50, p90, p95, p99, max, mean (ms)


class ThresholdOutcome(BaseModel):
    expression: str
    measured: float | None
    passed: bool


class WorkerFigures(BaseModel):
    worker: str
    host: str
    pid: int
    node: str = Field(default="", description="The Ray node id of the worker's actor; the host for a process")
    cpu_cores: float = Field(description="Peak CPU seconds per second over a 1 s interval")
    rss_mb: float = Field(description="Peak resident memory of the worker process")
    sessions_started: int = 0


class SeriesRow(BaseModel):
    t_s: float = Field(description="Start of the 5 s bucket, seconds into the run")
    active: int
    connecting: int
    failed: int
    error_events: int
    turns: int
    first_audio_p50_ms: float | None = None
    first_audio_p95_ms: float | None = None


class BreakpointLevel(BaseModel):
    users: int
    held: bool
    measured: float | None = Field(description="The --ramp-until metric over the judged part of the step")
    first_audio_p50_ms: float | None = None
    first_audio_p95_ms: float | None = None
    error_rate: float = 0.0
    sessions: int = 0


class LoadReport(BaseModel):
    model: str = Field(description="closed (--users), open (--rate) or breakpoint (--ramp-until)")
    users: int
    rate: float | None = None
    duration_s: float
    ramp_up_s: float = 0.0
    graceful_stop_s: float | None = Field(
        default=None,
        description="Seconds the sessions still running when the duration ended were given to finish",
    )
    peak_active_sessions: int
    sessions_started: int
    sessions_completed: int
    sessions_failed: int
    sessions_dropped: int = Field(
        default=0, description="Open model: arrivals not started because the node's session cap was reached"
    )
    failures_by_kind: dict[str, int] = Field(default_factory=dict)
    error_events: dict[str, int] = Field(default_factory=dict)
    failure_reasons: dict[str, int] = Field(
        default_factory=dict, description="Failed sessions by \"kind: reason\", most frequent first (20 kept)"
    )
    error_rate: float
    turns_completed: int
    packets_sent: int = Field(default=0, description="Audio RTP packets sent, finished sessions")
    packets_received: int = Field(default=0, description="Audio RTP packets received, finished sessions")
    packets_lost: int = Field(
        default=0, description="Received audio that never came (sequence numbers missed), finished sessions"
    )
    remote_packets_lost: int = Field(
        default=0, description="Audio sent that the target reported lost (its RTCP receiver reports)"
    )
    latency_ms: dict[str, Percentiles] = Field(default_factory=dict, description="Every metric, merged")
    send_lag_ms: Percentiles = Field(default_factory=dict)
    workers: list[WorkerFigures] = Field(default_factory=list)
    cpu_cores: dict[str, float] = Field(default_factory=dict)
    rss_mb: dict[str, float] = Field(default_factory=dict)
    rss_mb_per_session: float | None = Field(
        default=None, description="Peak RSS above each worker's ready baseline, over peak live sessions"
    )
    thresholds: list[ThresholdOutcome] = Field(default_factory=list)
    series: list[SeriesRow] = Field(default_factory=list)
    breakpoint: list[BreakpointLevel] = Field(default_factory=list)
    last_level_held: int | None = None
    score_sample: float = 0.0
    workers_lost: list[str] = Field(default_factory=list)
    ray: str | None = Field(default=None, description="Ray address of the workers; None: local processes")
    max_sessions_per_node: int | None = None

    @property
    def passed(self) -> bool:
        return all(t.passed for t in self.thresholds) and not self.workers_lost
