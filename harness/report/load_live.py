"""The live view of ``rth load`` and its end summary (k6's THRESHOLDS block, Locust's table).

On a terminal: a rich table redrawn every 2 s (elapsed, active/target, connecting, failed,
turns/s, first audio p50/p95 over the last 10 s, send lag p99, errors by kind, CPU per worker).
In CI logs (not a terminal): one line every 10 s.
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.table import Table

from harness.load.stats import SEND_LAG, LoadStats
from harness.load.thresholds import ThresholdResult
from harness.report.live import TerminalLive
from harness.report.load_model import LoadReport

TERMINAL_EVERY_S = 2.0
LOG_EVERY_S = 10.0


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


class LoadLiveView(TerminalLive):
    def __init__(self, console: Console) -> None:
        super().__init__(console, auto_refresh=False, transient=False)
        self._last = 0.0
        self._turns: tuple[float, int] = (time.monotonic(), 0)

    def update(self, stats: LoadStats, target_users: int) -> None:
        now = time.monotonic()
        every = TERMINAL_EVERY_S if self._live is not None else LOG_EVERY_S
        if now - self._last < every:
            return
        self._last = now
        counters = stats.counters
        since, turns = self._turns
        turns_per_s = (counters.turns_completed - turns) / max(now - since, 1e-6)
        self._turns = (now, counters.turns_completed)
        window = stats.window()
        first_audio = window.summary("first_audio_ms")
        lag = window.summary(SEND_LAG)
        kinds = ", ".join(f"{k}={n}" for k, n in sorted(counters.failures_by_kind.items())) or "-"
        cpu = " ".join(f"{w}={s.cpu_cores:.2f}" for w, s in sorted(stats.workers.items()))
        if self._live is None:
            self.console.print(
                f"[{stats.elapsed():6.1f}s] active {stats.active}/{target_users or stats.users} "
                f"connecting {stats.connecting} failed {counters.sessions_failed} "
                f"turns/s {turns_per_s:.1f} first_audio p50/p95 {_ms(first_audio['p50'])}/"
                f"{_ms(first_audio['p95'])} ms send_lag p99 {_ms(lag['p99'])} ms errors {kinds} cpu {cpu}",
                markup=False,
                highlight=False,
            )
            return
        table = Table(title=f"rth load  {stats.elapsed():.0f} s", show_header=True)
        for column in (
            "active",
            "connecting",
            "failed",
            "turns/s",
            "1st audio p50/p95 (10 s)",
            "send lag p99",
            "errors",
            "CPU per worker",
        ):
            table.add_column(column)
        table.add_row(
            f"{stats.active}/{target_users or stats.users}",
            str(stats.connecting),
            str(counters.sessions_failed),
            f"{turns_per_s:.1f}",
            f"{_ms(first_audio['p50'])} / {_ms(first_audio['p95'])} ms",
            f"{_ms(lag['p99'])} ms",
            kinds,
            cpu,
        )
        self._live.update(table, refresh=True)


def render_load_summary(load: LoadReport, results: list[ThresholdResult], console: Console) -> None:
    """Totals, the latency table (k6's TOTAL RESULTS) and each threshold with ✓/✗."""
    console.print(
        f"sessions: {load.sessions_started} started, {load.sessions_completed} completed, "
        f"{load.sessions_failed} failed (error rate {load.error_rate:.4f}); peak active "
        f"{load.peak_active_sessions}; turns {load.turns_completed}",
        highlight=False,
    )
    if load.packets_sent or load.packets_received:
        console.print(
            f"audio RTP: sent {load.packets_sent} ({_share(load.remote_packets_lost, load.packets_sent)} "
            f"reported lost by the target), received {load.packets_received} "
            f"({_share(load.packets_lost, load.packets_received + load.packets_lost)} lost)",
            highlight=False,
        )
    if load.failures_by_kind:
        console.print("failures: " + ", ".join(f"{k}={n}" for k, n in sorted(load.failures_by_kind.items())))
        for reason, n in load.failure_reasons.items():
            console.print(f"  {n:>6} x {reason}", highlight=False, markup=False, soft_wrap=True)
    if load.error_events:
        codes = ", ".join(f"{code}={n}" for code, n in sorted(load.error_events.items()))
        console.print(f"error events from the target: {codes}", highlight=False, markup=False)
    table = Table(title="latency (ms, all workers merged)")
    for column in ("metric", "count", "p50", "p90", "p95", "p99", "max", "mean"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    rows = {**load.latency_ms, SEND_LAG: load.send_lag_ms}
    for name, figures in sorted(rows.items()):
        if not figures or not figures.get("count"):
            continue
        table.add_row(
            name,
            f"{figures['count']:.0f}",
            *(_ms(figures.get(k)) for k in ("p50", "p90", "p95", "p99", "max", "mean")),
        )
    console.print(table)
    if load.breakpoint:
        console.print(f"breakpoint: last level that held: {load.last_level_held or 'none'} users")
        for level in load.breakpoint:
            mark = "✓" if level.held else "✗"
            console.print(
                f"  {mark} {level.users} users: measured {level.measured}, error rate {level.error_rate:.4f}"
            )
    if results:
        console.print("THRESHOLDS")
        for result in results:
            console.print(f"  {result.describe()}", markup=False, highlight=False)
    if load.workers_lost:
        console.print(f"workers lost: {', '.join(load.workers_lost)}")


def _share(part: int, whole: int) -> str:
    return f"{part} = {100 * part / whole:.1f} %" if whole else str(part)
