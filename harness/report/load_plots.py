"""Time-series plots of a load run for index.html: sessions, first-audio percentiles, failures.

Drawn from report.json's ``load.series`` (5 s buckets), so ``rth report`` re-renders them.
"""

from __future__ import annotations

from matplotlib.figure import Figure

from harness.report.load_model import LoadReport
from harness.report.plots import _style, to_svg


def load_series(load: LoadReport) -> str | None:
    """Three panels over time: active and connecting sessions, first audio p50/p95, failures."""
    rows = load.series
    if not rows:
        return None
    t = [row.t_s for row in rows]
    fig = Figure(figsize=(9.5, 5.2))
    sessions, latency, failures = fig.subplots(3, 1, sharex=True)
    sessions.step(t, [row.active for row in rows], where="post", label="active", color="#1f77b4")
    sessions.step(t, [row.connecting for row in rows], where="post", label="connecting", color="#ff7f0e")
    sessions.set_ylabel("sessions", fontsize=8)
    sessions.legend(fontsize=7, frameon=False, loc="upper left")
    for key, label, colour in (
        ("first_audio_p50_ms", "first audio p50", "#2ca02c"),
        ("first_audio_p95_ms", "first audio p95", "#d62728"),
    ):
        points = [(row.t_s, getattr(row, key)) for row in rows if getattr(row, key) is not None]
        if points:
            latency.plot(*zip(*points, strict=True), marker="o", markersize=3, label=label, color=colour)
    latency.set_ylabel("ms", fontsize=8)
    latency.legend(fontsize=7, frameon=False, loc="upper left")
    width = 0.8 * (t[1] - t[0]) if len(t) > 1 else 4.0
    failures.bar(
        t, [row.failed for row in rows], width=width, align="edge", label="failed sessions", color="#d62728"
    )
    failures.bar(
        t,
        [row.error_events for row in rows],
        width=width * 0.5,
        align="edge",
        label="error events",
        color="#9467bd",
    )
    failures.set_ylabel("per 5 s", fontsize=8)
    failures.set_xlabel("seconds into the run", fontsize=8)
    failures.legend(fontsize=7, frameon=False, loc="upper left")
    for ax in (sessions, latency, failures):
        _style(ax)
    fig.tight_layout()
    return to_svg(fig)


def breakpoint_curve(load: LoadReport) -> str | None:
    """First audio p50/p95 and error rate against users, one point per breakpoint level."""
    levels = load.breakpoint
    if not levels:
        return None
    fig = Figure(figsize=(9.5, 2.6))
    latency, errors = fig.subplots(1, 2)
    users = [level.users for level in levels]
    for key, label in (("first_audio_p50_ms", "p50"), ("first_audio_p95_ms", "p95")):
        latency.plot(
            users, [getattr(level, key) for level in levels], marker="o", label=f"first audio {label}"
        )
    latency.set_xlabel("users", fontsize=8)
    latency.set_ylabel("ms", fontsize=8)
    latency.legend(fontsize=7, frameon=False)
    errors.plot(users, [level.error_rate for level in levels], marker="o", color="#d62728")
    errors.set_xlabel("users", fontsize=8)
    errors.set_ylabel("error rate", fontsize=8)
    for ax in (latency, errors):
        _style(ax)
    fig.tight_layout()
    return to_svg(fig)
