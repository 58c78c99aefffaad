"""From the driver's merged statistics to the ``load`` object of report.json."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.load.histograms import MetricHistograms
from harness.load.stats import SEND_LAG, LoadStats
from harness.load.thresholds import ERROR_RATE, Threshold, ThresholdResult
from harness.report.load_model import (
    BreakpointLevel,
    LoadReport,
    SeriesRow,
    ThresholdOutcome,
    WorkerFigures,
)

if TYPE_CHECKING:
    from harness.load.driver import LoadOptions


@dataclass(frozen=True)
class LevelResult:
    """One breakpoint step: its users, whether the threshold held, and what was measured."""

    users: int
    held: bool
    measured: float | None
    first_audio: dict[str, float | None]
    error_rate: float
    sessions: int

    @classmethod
    def measure(
        cls, users: int, judged: MetricHistograms, failed: int, finished: int, threshold: Threshold
    ) -> LevelResult:
        error_rate = failed / finished if finished else 0.0
        if threshold.metric == ERROR_RATE:
            measured: float | None = round(error_rate, 6)
        else:
            assert threshold.aggregate is not None
            measured = judged.summary(threshold.histogram_metric)[threshold.aggregate]
        held = threshold.holds(measured) and finished > 0
        return cls(users, held, measured, judged.summary("first_audio_ms"), error_rate, finished)


def build_summary(
    stats: LoadStats,
    options: LoadOptions,
    thresholds: list[ThresholdResult],
    levels: list[LevelResult],
    lost: list[str],
) -> LoadReport:
    counters = stats.counters
    summaries = stats.total.summaries()
    rss = {name: stats.rss_peak[name] for name in sorted(stats.rss_peak)}
    peak = stats.peak_active
    baseline = sum(s.baseline_rss_mb for s in stats.workers.values())
    per_session = round(max(0.0, sum(rss.values()) - baseline) / peak, 3) if peak else None
    held = [level.users for level in levels if level.held]
    if options.ramp_until is not None:
        model = "breakpoint"
    elif options.rate is not None:
        model = "open"
    else:
        model = "closed"
    return LoadReport(
        model=model,
        users=options.users,
        rate=options.rate,
        duration_s=round(stats.elapsed(), 3),
        ramp_up_s=options.ramp_up_s,
        graceful_stop_s=options.graceful_stop_s,
        peak_active_sessions=peak,
        sessions_started=counters.sessions_started,
        sessions_completed=counters.sessions_completed,
        sessions_failed=counters.sessions_failed,
        sessions_dropped=counters.sessions_dropped,
        failures_by_kind=dict(counters.failures_by_kind),
        error_events=dict(counters.error_events),
        failure_reasons=dict(sorted(counters.failure_reasons.items(), key=lambda item: -item[1])),
        error_rate=round(counters.error_rate, 6),
        turns_completed=counters.turns_completed,
        packets_sent=counters.packets_sent,
        packets_received=counters.packets_received,
        packets_lost=counters.packets_lost,
        remote_packets_lost=counters.remote_packets_lost,
        latency_ms={name: value for name, value in summaries.items() if name != SEND_LAG},
        send_lag_ms=summaries.get(SEND_LAG, stats.total.summary(SEND_LAG)),
        workers=[
            WorkerFigures(
                worker=s.worker,
                host=s.host,
                pid=s.pid,
                node=s.node,
                cpu_cores=stats.cpu_peak.get(s.worker, 0.0),
                rss_mb=stats.rss_peak.get(s.worker, 0.0),
                sessions_started=s.counters.sessions_started,
            )
            for s in sorted(stats.workers.values(), key=lambda s: s.worker)
        ],
        cpu_cores={name: stats.cpu_peak[name] for name in sorted(stats.cpu_peak)},
        rss_mb=rss,
        rss_mb_per_session=per_session,
        thresholds=[
            ThresholdOutcome(expression=r.threshold.expression, measured=r.measured, passed=r.passed)
            for r in thresholds
        ],
        series=[SeriesRow(**vars(point)) for point in stats.series()],
        breakpoint=[
            BreakpointLevel(
                users=level.users,
                held=level.held,
                measured=level.measured,
                first_audio_p50_ms=level.first_audio["p50"],
                first_audio_p95_ms=level.first_audio["p95"],
                error_rate=round(level.error_rate, 6),
                sessions=level.sessions,
            )
            for level in levels
        ],
        last_level_held=max(held) if held else None,
        score_sample=options.score_sample,
        workers_lost=lost,
        ray=options.ray,
        max_sessions_per_node=options.max_sessions_per_node,
    )
