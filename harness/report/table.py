"""Terminal output (rich): the run table (one row per turn), stability over repeats, comparisons."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.protocol import TurnMetric
from harness.report import fmt
from harness.report.compare import Comparison
from harness.report.model import RunReport, TurnReport
from harness.report.stability import Stability, overall

SHOWN_LATENCIES = ((TurnMetric.FIRST_AUDIO, "1st audio"), (TurnMetric.RESPONSE_DONE, "done"))


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _wer(turn: TurnReport) -> str:
    return "-" if turn.input_wer is None else f"{turn.input_wer.wer:.2f}"


def _reason(console: Console, where: str, text: str) -> None:
    """One whole line under the table (a cell would cut it): a failed session's connection or auth
    error, a turn's error, a failed check. Never wrapped by rich, never read as markup."""
    console.print(f"[red]{escape(where)}:[/] {escape(' '.join(text.split()))}", soft_wrap=True)


def render_table(report: RunReport, console: Console) -> None:
    table = Table(title=f"rth run {report.run_id}")
    table.add_column("scenario/turn", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("user heard", no_wrap=True, overflow="ellipsis", max_width=32)
    table.add_column("WER", justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True, min_width=9)
    for _, label in SHOWN_LATENCIES:
        table.add_column(f"{label} ms", justify="right", no_wrap=True, min_width=len(label) + 3)
    for scenario in report.scenarios:
        if scenario.error and not scenario.turns:  # the reason is printed whole below the table
            table.add_row(scenario.instance or scenario.name, f"[red]ERROR[/] {scenario.failure_kind or ''}")
        for turn in scenario.turns:
            failed = [v.name for v in turn.verdicts if not v.passed]
            result = "[green]pass[/]" if turn.passed else "[red]FAIL[/] " + ", ".join(failed or ["error"])
            table.add_row(
                f"{scenario.instance or scenario.name}/{turn.name}",
                result,
                turn.user_transcript or "-",
                _wer(turn),
                turn.response_status or "-",
                *(_ms(turn.latencies_ms.get(key)) for key, _ in SHOWN_LATENCIES),
            )
    console.print(table)
    for scenario in report.scenarios:
        name = scenario.instance or scenario.name
        for turn in scenario.turns:
            if turn.error:
                _reason(console, f"{name}/{turn.name}", turn.error)
            for failed_verdict in (v for v in turn.verdicts if not v.passed):
                _reason(console, f"{name}/{turn.name}", failed_verdict.describe())
        for check in scenario.verdicts:  # scenario-level expectations: few, all shown
            mark = "[green]pass[/]" if check.passed else "[red]FAIL[/]"
            console.print(f"{mark} {escape(name)}: {escape(check.describe())}", soft_wrap=True)
        if scenario.error:
            _reason(console, name, scenario.error)
    passed = sum(s.passed for s in report.scenarios)
    pooled = report.pooled_input_wer
    wer_text = f", pooled input WER {pooled.wer:.3f}" if pooled else ""
    if report.pooled_output_wer:
        wer_text += f", pooled output WER {report.pooled_output_wer.wer:.3f}"
    usage = report.usage
    usage_text = f", {usage.total_tokens:,} tokens" if usage else ""
    if usage and usage.cost_usd is not None:
        usage_text += f" ({fmt.usd(usage.cost_usd)})"
    verdict = "[green]PASSED[/]" if report.passed else "[red]FAILED[/]"
    console.print(f"{verdict}: {passed}/{len(report.scenarios)} scenarios passed{wer_text}{usage_text}")


def render_stability(rows: list[Stability], console: Console) -> None:
    """Pass rate, pass@k and pass^k (k = the repeats) per scenario and turn; flaky rows are marked;
    a last row per variant gives the means over its scenarios."""
    k = max((row.runs for row in rows), default=1)
    table = Table(
        title="stability over repeats",
        caption=f"pass@{k}: chance that at least one of {k} runs passes; pass^{k}: that all {k} do",
    )
    numeric = ("passed", "rate", f"pass@{k}", f"pass^{k}")
    for name in ("variant", "scenario/turn", *numeric, "", "failures"):
        table.add_column(name, no_wrap=True, justify="right" if name in numeric else "left")
    for row in rows:
        label = row.scenario if row.turn is None else f"  {row.scenario}/{row.turn}"
        flag = "[yellow]flaky[/]" if row.flaky else ("[green]stable[/]" if row.passed else "[red]failing[/]")
        table.add_row(row.variant or "-", label, *row.figures(), flag, row.failure_text())
    for total in overall(rows):
        label = f"[b]mean of {total.scenarios} scenario(s)[/]"
        table.add_row(total.variant or "-", label, *total.figures(), "", "")
    console.print(table)


def render_compare(comparison: Comparison, console: Console, *, all_rows: bool = False) -> None:
    """Baseline values with 95% intervals; other groups as value and delta to the baseline."""
    table = Table(title=f"comparison (bootstrap 95% CI, {comparison.n_boot} resamples)")
    table.add_column("metric", no_wrap=True)
    for index, group in enumerate(comparison.groups):
        table.add_column(group.label + (" (baseline)" if index == 0 else ""), justify="right")
    for row in comparison.rows if all_rows else comparison.key_rows():
        cells = [fmt.interval(row.cells[0].value, row.unit)]
        for index, cell in enumerate(row.cells[1:], start=1):
            verdict = row.verdict(index)  # spelt out too: CI logs have no colour
            colour = {"better": "green", "worse": "red"}.get(verdict)
            delta = fmt.delta(cell.delta, row.unit)
            cells.append(
                f"{fmt.number(cell.value.estimate if cell.value else None, row.unit)}  "
                + (f"[{colour}]{delta} {verdict}[/]" if colour else delta)
            )
        table.add_row(row.name, *cells)
    console.print(table)
