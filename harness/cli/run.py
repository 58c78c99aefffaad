"""``rth run``: scenarios against a target, side by side, into a run directory."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from harness.cli._app import (
    EXIT_FAILED,
    EXIT_OK,
    ConnectChoice,
    NetworkChoice,
    app,
    console,
    exit_codes,
    print_rendered,
)
from harness.protocol import DEFAULT_MODEL

if TYPE_CHECKING:
    from harness.report.model import RunReport


class StandinChoice(StrEnum):
    inline = "inline"
    process = "process"


@app.command()
def run(
    paths: Annotated[list[Path], typer.Argument(help="Scenario files or folders of *.yaml files.")],
    target: Annotated[
        str,
        typer.Option(
            help="'local' starts the built-in stand-in; or a base URL like https://api.openai.com/v1."
        ),
    ] = "local",
    connect: Annotated[
        ConnectChoice,
        typer.Option(help="unified: SDP posted with the API key; ephemeral: via a client secret."),
    ] = ConnectChoice.unified,
    out: Annotated[Path, typer.Option(help="Folder for run directories (reports/<run-id>/).")] = Path(
        "reports"
    ),
    model: Annotated[str, typer.Option(help="Realtime model for the call.")] = DEFAULT_MODEL,
    repeat: Annotated[
        int, typer.Option(min=1, help="Run each scenario N times: pass rates, flaky turns, failure kinds.")
    ] = 1,
    matrix: Annotated[
        list[str] | None,
        typer.Option(
            help="AXIS=V1,V2 with AXIS model, voice, caller_voice or a perturbation setting (noise_snr_db, "
            "noise_type, speed, gain_db, telephone, clipping_db, dropout_rate, ...); repeat the option for "
            "more axes. Runs the cross product and compares the variants."
        ),
    ] = None,
    prices: Annotated[
        Path | None, typer.Option(help="Price table (TOML) for the cost figures; see docs/prices.md.")
    ] = None,
    tag: Annotated[
        list[str] | None,
        typer.Option(
            help="Run only scenarios with this tag (repeat for any of several; suites tag their own)."
        ),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=64,
            help="Sessions run side by side (default: a suite's `concurrency:`, else 4). Reports list "
            "sessions in plan order either way.",
        ),
    ] = None,
    standin: Annotated[
        StandinChoice,
        typer.Option(
            help="With --target local: the stand-in on rth's own event loop (inline) or in a process of "
            "its own (process; see docs/performance.md)."
        ),
    ] = StandinChoice.inline,
    client_network: Annotated[
        NetworkChoice | None,
        typer.Option(
            help="Impair the RTP the client sends with a preset (loss, jitter, rate cap; see "
            "docs/reliability.md), for scenarios without their own `client_network`."
        ),
    ] = None,
) -> None:
    """Run scenarios against a target and write the run directory.

    reports/<run-id>/ gets report.json, timeline.jsonl, the audio sent and received, junit.xml,
    summary.md and index.html; reports/latest points at it.
    """
    from harness.cli._signals import run_stoppable
    from harness.client import ConnectMode
    from harness.report import render_table
    from harness.report.live import LiveView
    from harness.runner import DEFAULT_CONCURRENCY, RunOptions, run_suite
    from harness.runner.plan import build_plan, parse_matrix
    from harness.runner.run_dir import new_run_id
    from harness.scenario import load_suite, select_tagged

    run_id = new_run_id()  # known up front, so an interruption can name the real run directory
    with exit_codes(report=out / run_id / "report.json"):
        suite = load_suite(paths)
        scenarios = select_tagged(suite.scenarios, tag or [])
        options = RunOptions(
            target=target,
            connect=ConnectMode(connect.value),
            out=out,
            run_id=run_id,
            model=model,
            repeat=repeat,
            matrix=parse_matrix(matrix or []),
            prices=prices,
            concurrency=concurrency or suite.concurrency or DEFAULT_CONCURRENCY,
            standin_in_process=standin is StandinChoice.inline,
            client_network=client_network.value if client_network is not None else None,
        )
        planned = len(build_plan(scenarios, options.repeat, options.matrix))
        with LiveView(console, planned, options.concurrency) as view:
            report, run_dir = run_stoppable(run_suite(scenarios, options, view), out / run_id)
    render_table(report, console)
    _print_repeats_and_matrix(report)
    console.print(f"report: {run_dir / 'report.json'}")
    print_rendered(run_dir)
    raise typer.Exit(EXIT_OK if report.passed else EXIT_FAILED)


def _print_repeats_and_matrix(report: RunReport) -> None:
    from harness.report.compare import compare, groups_from_runs
    from harness.report.stability import stability
    from harness.report.table import render_compare, render_stability

    if report.repeat > 1:
        render_stability(stability(report), console)
    groups = groups_from_runs([report])
    if len(groups) > 1:
        render_compare(compare(groups), console)
