"""``rth report`` and ``rth compare``: finished runs, re-rendered or side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.cli._app import app, console, exit_codes
from harness.errors import UsageError


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="A run directory (reports/<run-id> or reports/latest).")],
    open_browser: Annotated[bool, typer.Option("--open", help="Open index.html in a browser.")] = False,
    prices: Annotated[
        Path | None, typer.Option(help="Re-price token usage with this table (TOML; see docs/prices.md).")
    ] = None,
) -> None:
    """Re-render junit.xml, summary.md and index.html of a run from its report.json."""
    import webbrowser

    from harness.report.prices import apply_prices, load_prices
    from harness.report.render import render_data
    from harness.report.run_data import load_run

    with exit_codes():
        data = load_run(run_dir)
        if prices is not None:
            apply_prices(data.report, load_prices(prices))
        rendered = render_data(data)
    for label, path in (("junit", rendered.junit), ("summary", rendered.summary), ("html", rendered.html)):
        console.print(f"{label}: {path}", soft_wrap=True, highlight=False)
    if open_browser:
        webbrowser.open(rendered.html.resolve().as_uri())


@app.command()
def compare(
    runs: Annotated[
        list[Path],
        typer.Argument(help="Run directories to compare (the first is the baseline), or one matrix run."),
    ],
    out: Annotated[
        Path | None,
        typer.Option(help="Where to write compare.md and compare.html (default: beside the runs)."),
    ] = None,
    all_metrics: Annotated[bool, typer.Option(help="Print every latency metric and percentile.")] = False,
    resamples: Annotated[
        int, typer.Option(min=100, help="Bootstrap resamples for the 95% intervals.")
    ] = 2000,
    seed: Annotated[int, typer.Option(help="Bootstrap seed (same seed, same intervals).")] = 0,
    prices: Annotated[Path | None, typer.Option(help="Price table (TOML) for the cost rows.")] = None,
) -> None:
    """Compare runs, or the variants of one matrix run.

    Latency percentiles, WER, pass rate, tokens and cost side by side, with deltas and
    bootstrap 95% intervals, as a terminal table, compare.md and compare.html.
    """
    from harness.report.compare import compare as compare_groups
    from harness.report.compare import groups_from_runs
    from harness.report.prices import apply_prices, load_prices
    from harness.report.render import default_compare_dir, write_comparison
    from harness.report.run_data import load_run
    from harness.report.table import render_compare

    with exit_codes():
        data = [load_run(path, timelines=False) for path in runs]  # the reports are compared
        if prices is not None:
            table = load_prices(prices)
            for item in data:
                apply_prices(item.report, table)
        groups = groups_from_runs([item.report for item in data])
        if len(groups) < 2:
            raise UsageError(
                f"{runs[0]}: only one configuration to compare; pass two or more runs, or a --matrix run"
            )
        result = compare_groups(groups, n_boot=resamples, seed=seed)
        files = write_comparison(result, data, out or default_compare_dir(data))
    render_compare(result, console, all_rows=all_metrics)
    console.print(f"markdown: {files.markdown}", soft_wrap=True, highlight=False)
    console.print(f"html: {files.html}", soft_wrap=True, highlight=False)
