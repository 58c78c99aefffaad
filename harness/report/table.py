"""The short terminal summary printed after a run (rich): one row per turn, then the totals."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from harness.report.model import RunReport, TurnReport

SHOWN_LATENCIES = (("first_audio_ms", "1st audio"), ("response_done_ms", "done"))


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _wer(turn: TurnReport) -> str:
    return "-" if turn.input_wer is None else f"{turn.input_wer['wer']:.2f}"


def render_table(report: RunReport, console: Console) -> None:
    table = Table(title=f"rth run {report.run_id}")
    table.add_column("scenario/turn", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("user heard", no_wrap=True, overflow="ellipsis", max_width=36)
    table.add_column("WER", justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for _, label in SHOWN_LATENCIES:
        table.add_column(f"{label} ms", justify="right", no_wrap=True)
    for scenario in report.scenarios:
        if scenario.error and not scenario.turns:
            table.add_row(scenario.name, "[red]ERROR[/]", scenario.error)
        for turn in scenario.turns:
            failed = [v.name for v in turn.verdicts if not v.passed]
            result = "[green]pass[/]" if turn.passed else "[red]FAIL[/] " + ", ".join(failed or ["error"])
            table.add_row(
                f"{scenario.name}/{turn.name}",
                result,
                turn.user_transcript or "-",
                _wer(turn),
                turn.response_status or "-",
                *(_ms(turn.latencies_ms.get(key)) for key, _ in SHOWN_LATENCIES),
            )
    console.print(table)
    for scenario in report.scenarios:
        for turn in scenario.turns:
            if turn.error:
                console.print(f"[red]{scenario.name}/{turn.name}:[/] {turn.error}")
        if scenario.error and scenario.turns:
            console.print(f"[red]{scenario.name}:[/] {scenario.error}")
    passed = sum(s.passed for s in report.scenarios)
    pooled = report.pooled_input_wer
    wer_text = f", pooled input WER {pooled['wer']:.3f}" if pooled else ""
    verdict = "[green]PASSED[/]" if report.passed else "[red]FAILED[/]"
    console.print(f"{verdict}: {passed}/{len(report.scenarios)} scenarios passed{wer_text}")
