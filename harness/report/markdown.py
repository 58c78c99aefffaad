"""``summary.md``: the run at a glance in GitHub-flavoured Markdown, sized for a CI step summary.

GitHub caps a step summary at 1 MiB, so per-turn rows stop at ``MAX_TURN_ROWS`` (failures are
always listed first in their own section); the HTML report has everything.
"""

from __future__ import annotations

from harness.protocol import ConnectMetric, TurnMetric
from harness.report import fmt
from harness.report.compare import Comparison, compare, groups_from_runs
from harness.report.diff import diff_markdown
from harness.report.model import RunReport, TurnReport
from harness.report.run_data import RunData
from harness.report.stability import Stability, failure_kind, overall, stability

MAX_TURN_ROWS = 200
SUMMARY_METRICS: tuple[str, ...] = (
    TurnMetric.VOICE_TO_VOICE,
    TurnMetric.FIRST_AUDIO,
    TurnMetric.RESPONSE_DONE,
    TurnMetric.COMMIT_TO_TRANSCRIPT,
    ConnectMetric.TOTAL,
)
TURN_ROW_METRICS = (TurnMetric.FIRST_AUDIO, TurnMetric.RESPONSE_DONE, TurnMetric.VOICE_TO_VOICE)


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[str]], align: str = "") -> list[str]:
    aligns = [("---:" if a == "r" else "---") for a in (align or "l" * len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(aligns) + " |"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _headline(report: RunReport) -> list[str]:
    turns = [t for s in report.scenarios for t in s.turns]
    passed_turns = sum(t.passed for t in turns)
    passed = sum(s.passed for s in report.scenarios)
    icon, verdict = ("✅", "PASSED") if report.passed else ("❌", "FAILED")
    if report.interrupted:
        icon, verdict = "⚠️", "INTERRUPTED"
    lines = [
        f"## {icon} rth run `{report.run_id}`: {verdict}",
        "",
        f"**{passed}/{len(report.scenarios)}** sessions and **{passed_turns}/{len(turns)}** turns passed"
        + "".join(
            f"; pooled {label} WER **{wer.wer:.3f}**"
            for label, wer in (("input", report.pooled_input_wer), ("output", report.pooled_output_wer))
            if wer
        )
        + ".",
        "",
        f"target `{report.target}` · model `{report.model}` · connect `{report.connect_mode}`"
        + (f" · repeat {report.repeat}" if report.repeat > 1 else "")
        + "".join(f" · {axis}: {', '.join(values)}" for axis, values in report.matrix.items())
        + f" · rth {report.tool_version}",
    ]
    if report.usage is not None:
        cost = report.usage.cost_usd
        priced = f" ≈ **{fmt.usd(cost)}**" if cost is not None else " (no price for this model)"
        as_of = f" (prices as of {report.prices['as_of']})" if report.prices and cost is not None else ""
        lines += ["", f"Tokens: **{report.usage.total_tokens:,}**{priced}{as_of}."]
    return lines


def _load(report: RunReport) -> list[str]:
    """A load run's figures and thresholds (k6's end summary, as a step summary)."""
    load = report.load
    if load is None:
        return []
    lines = [
        "",
        f"### Load ({load.model}): {load.users} users, {load.duration_s:.0f} s",
        "",
        f"{load.sessions_started} sessions started, {load.sessions_completed} completed, "
        f"{load.sessions_failed} failed (error rate {load.error_rate:.4f}); peak active "
        f"{load.peak_active_sessions}; {load.turns_completed} turns",
    ]
    if load.failure_reasons:
        lines += [
            "",
            *_table(["failed sessions", "reason"], [[str(n), r] for r, n in load.failure_reasons.items()]),
        ]
    if load.error_events:
        codes = ", ".join(f"`{code}` {n}" for code, n in sorted(load.error_events.items()))
        lines += ["", f"Error events from the target: {codes}."]
    if load.last_level_held is not None or load.breakpoint:
        lines += ["", f"Breakpoint: last level that held **{load.last_level_held or 'none'}** users."]
    if load.thresholds:
        lines += [
            "",
            *_table(
                ["threshold", "measured", "result"],
                [
                    [
                        f"`{t.expression}`",
                        "-" if t.measured is None else f"{t.measured:g}",
                        "✅" if t.passed else "❌",
                    ]
                    for t in load.thresholds
                ],
            ),
        ]
    rows = [
        [name, f"{f.get('count') or 0:.0f}", *(fmt.ms(f.get(k)) for k in ("p50", "p95", "p99", "max"))]
        for name, f in sorted({**load.latency_ms, "send_lag_ms": load.send_lag_ms}.items())
        if f and f.get("count") and name in KEY_LOAD_METRICS
    ]
    if rows:
        lines += ["", *_table(["metric", "n", "p50", "p95", "p99", "max"], rows, "lrrrrr")]
    return lines


KEY_LOAD_METRICS = (
    "connect_total_ms",
    "first_audio_ms",
    "voice_to_voice_ms",
    "response_done_ms",
    "send_lag_ms",
)


def _failures(report: RunReport) -> list[str]:
    lines: list[str] = []
    for scenario in report.scenarios:
        where = scenario.instance or scenario.name
        if scenario.error:
            lines.append(f"- **{where}** ({scenario.failure_kind or 'error'}): {scenario.error}")
        for turn in scenario.turns:
            kind = failure_kind(turn)
            if kind is None:
                continue
            failed = "; ".join(
                f"`{v.name}` {v.measured!r} vs {v.bound!r}" for v in turn.verdicts if not v.passed
            )
            lines.append(f"- **{where}/{turn.name}** ({kind}): {turn.error or failed}")
            if turn.input_wer is not None and turn.input_wer.wer > 0:
                lines.append(f"  - heard: {diff_markdown(turn.input_wer)}")
            if turn.output_wer is not None and turn.output_wer.wer > 0:
                lines.append(f"  - replied: {diff_markdown(turn.output_wer)}")
    return ["", "### Failures", "", *lines] if lines else []


def _turn_row(where: str, turn: TurnReport) -> list[str]:
    wer = f"{turn.input_wer.wer:.2f}" if turn.input_wer else "-"
    kind = failure_kind(turn)
    return [
        where,
        "✅" if kind is None else f"❌ {kind}",
        wer,
        *(fmt.ms(turn.latencies_ms.get(m)) for m in TURN_ROW_METRICS),
        f"{turn.usage.total_tokens:,}" if turn.usage else "-",
    ]


def _turns(report: RunReport) -> list[str]:
    rows = [
        _turn_row(f"{scenario.instance or scenario.name}/{turn.name}", turn)
        for scenario in report.scenarios
        for turn in scenario.turns
    ]
    if not rows:
        return []
    header = ["turn", "result", "WER", "1st audio ms", "done ms", "voice-to-voice ms", "tokens"]
    lines = ["", "### Turns", "", *_table(header, rows[:MAX_TURN_ROWS], "llrrrrr")]
    if len(rows) > MAX_TURN_ROWS:
        lines += ["", f"… and {len(rows) - MAX_TURN_ROWS} more turns: see index.html."]
    return lines


def _latency(report: RunReport) -> list[str]:
    rows = [
        [
            name,
            f"{stats.get('count') or 0:.0f}",
            *(fmt.ms(stats.get(k)) for k in ("p50", "p90", "p95", "max")),
        ]
        for name, stats in report.latency_summary_ms.items()
        if name in SUMMARY_METRICS and stats.get("count")
    ]
    return (
        ["", "### Latency (ms)", "", *_table(["metric", "n", "p50", "p90", "p95", "max"], rows, "lrrrrr")]
        if rows
        else []
    )


def stability_markdown(rows: list[Stability]) -> list[str]:
    k = max((row.runs for row in rows), default=1)
    table = [
        [
            row.variant or "-",
            row.scenario if row.turn is None else f"↳ {row.turn}",
            *row.figures(),
            "⚠️ flaky" if row.flaky else "",
            row.failure_text(),
        ]
        for row in rows
    ]
    table += [
        [total.variant or "-", f"**mean of {total.scenarios} scenario(s)**", *total.figures(), "", ""]
        for total in overall(rows)
    ]
    header = ["variant", "scenario / turn", "passed", "rate", f"pass@{k}", f"pass^{k}", "", "failures"]
    note = f"pass@{k}: chance that at least one of {k} runs passes; pass^{k}: that all {k} do (estimated)."
    return ["", "### Stability over repeats", "", note, "", *_table(header, table, "llrrrrll")]


def compare_markdown(comparison: Comparison, *, all_rows: bool = True) -> list[str]:
    """Baseline value [95% CI] and, per other group, value and Δ [95% CI]; ⬆/⬇ mark real changes."""
    header = ["metric", f"{comparison.groups[0].label} (baseline)"] + [g.label for g in comparison.groups[1:]]
    rows: list[list[str]] = []
    for row in comparison.rows if all_rows else comparison.key_rows():
        cells = [row.name, fmt.interval(row.cells[0].value, row.unit)]
        for index, cell in enumerate(row.cells[1:], start=1):
            mark = {"better": " 🟢", "worse": " 🔴"}.get(row.verdict(index), "")
            value = fmt.number(cell.value.estimate if cell.value else None, row.unit)
            cells.append(f"{value} (Δ {fmt.delta(cell.delta, row.unit)}){mark}")
        rows.append(cells)
    note = (
        f"Δ against the baseline with bootstrap 95% intervals ({comparison.n_boot} resamples, seed "
        f"{comparison.seed}); 🟢/🔴 where the interval excludes zero."
    )
    return ["", "### Comparison", "", note, "", *_table(header, rows, "l" + "r" * (len(header) - 1))]


def summary_markdown(run: RunData) -> str:
    report = run.report
    lines = _headline(report) + _load(report) + _failures(report)
    if report.repeat > 1:
        lines += stability_markdown(stability(report))
    groups = groups_from_runs([report])
    if len(groups) > 1:
        lines += compare_markdown(compare(groups), all_rows=False)
    lines += _latency(report) + _turns(report)
    lines += ["", "_Full report: `index.html` in the run directory (plots, audio, transcripts)._", ""]
    return "\n".join(lines)
