"""``rth load``: many live sessions, live stats, thresholds."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
from harness.errors import UsageError
from harness.protocol import DEFAULT_MODEL


@app.command()
def load(
    paths: Annotated[list[Path], typer.Argument(help="Scenario files or folders; each user loops them.")],
    users: Annotated[
        int, typer.Option(min=1, help="Sessions kept live (closed model); the step size with --ramp-until.")
    ] = 10,
    duration: Annotated[
        float, typer.Option(min=1.0, help="Seconds of load (after which sessions end).")
    ] = 30.0,
    graceful_stop: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=3600.0,
            help="Seconds sessions still running when --duration ends get to finish (k6's gracefulStop); "
            "then they are cut, counted as neither completed nor failed. Ctrl-C gives them 5 s.",
        ),
    ] = 30.0,
    ramp_up: Annotated[
        float, typer.Option(min=0.0, help="Seconds to reach --users (or --rate) linearly.")
    ] = 0.0,
    rate: Annotated[
        float | None, typer.Option(min=0.01, help="Open model: start this many sessions per second instead.")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1, max=4096, help="Workers (default: the cores available; with --ray, the cluster's CPUs)."
        ),
    ] = None,
    ray: Annotated[
        str | None,
        typer.Option(
            help="Run the workers as Ray actors: 'local' starts Ray here; 'auto' or 'ray://HEAD:10001' "
            "joins that cluster (needs realtime-harness[ray]).",
        ),
    ] = None,
    max_sessions_per_node: Annotated[
        int | None, typer.Option(min=1, help="Live sessions one node (machine) may hold at once.")
    ] = None,
    target: Annotated[str, typer.Option(help="'local' (built-in stand-in) or a base URL.")] = "local",
    connect: Annotated[ConnectChoice, typer.Option(help="unified or ephemeral.")] = ConnectChoice.unified,
    model: Annotated[str, typer.Option(help="Realtime model for the calls.")] = DEFAULT_MODEL,
    threshold: Annotated[
        list[str] | None,
        typer.Option(help="Pass/fail like k6: 'first_audio_ms:p95<1500', 'error_rate<0.01' (repeatable)."),
    ] = None,
    ramp_until: Annotated[
        str | None,
        typer.Option(help="Breakpoint test: add --users users every --step s until this threshold breaks."),
    ] = None,
    step: Annotated[float, typer.Option(min=2.0, help="Seconds per level with --ramp-until.")] = 20.0,
    max_users: Annotated[int, typer.Option(min=1, help="Upper bound for --ramp-until.")] = 1000,
    score_sample: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Fraction of sessions fully recorded and scored (>= 1).")
    ] = 0.01,
    max_cost_usd: Annotated[
        float, typer.Option(min=0.0, help="Refuse a paid target above this estimated cost.")
    ] = 1.0,
    out: Annotated[Path, typer.Option(help="Folder for run directories.")] = Path("reports"),
    prices: Annotated[Path | None, typer.Option(help="Price table (TOML) for the cost estimate.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the session sampling.")] = 0,
    client_network: Annotated[
        NetworkChoice | None,
        typer.Option(
            help="Impair the RTP every session sends with a preset (loss, jitter, rate cap; see "
            "docs/reliability.md), for scenarios without their own `client_network`."
        ),
    ] = None,
) -> None:
    """Load-test: keep N sessions live (or start R per second) and measure latency under load.

    Percentiles are merged exactly over the workers (HDR histograms); thresholds decide the exit
    code (0 all held, 1 one broke). The run directory is the same as `rth run`'s, plus a `load`
    object in report.json; sampled sessions keep timelines, audio and WER.
    """
    from harness.cli._signals import run_stoppable
    from harness.client import ConnectMode
    from harness.load import LoadOptions, estimate_cost, parse_threshold, parse_thresholds, run_load
    from harness.report.load_live import LoadLiveView, render_load_summary
    from harness.runner import RunOptions
    from harness.runner.run_dir import new_run_id
    from harness.scenario import load_suite

    run_id = new_run_id()  # known up front, so an interruption can name the real run directory
    with exit_codes(report=out / run_id / "report.json"):
        scenarios = load_suite(paths).scenarios
        options = LoadOptions(
            run=RunOptions(
                target=target,
                connect=ConnectMode(connect.value),
                out=out,
                run_id=run_id,
                model=model,
                prices=prices,
                standin_load=True,  # the built-in stand-in must not be what limits the load
                client_network=client_network.value if client_network is not None else None,
            ),
            users=users,
            duration_s=duration,
            graceful_stop_s=graceful_stop,
            ramp_up_s=ramp_up,
            rate=rate,
            workers=workers,
            ray=ray,
            max_sessions_per_node=max_sessions_per_node,
            thresholds=parse_thresholds(threshold or []),
            score_sample=score_sample,
            ramp_until=parse_threshold(ramp_until) if ramp_until else None,
            step_s=step,
            max_users=max_users,
            seed=seed,
        )
        if ray is not None:
            _require_ray()
        estimate = estimate_cost(scenarios, options)
        if estimate is not None:
            console.print(f"estimated cost of this run: ${estimate:.2f} (--max-cost-usd {max_cost_usd:g})")
            if estimate > max_cost_usd:
                raise UsageError(
                    f"estimated cost ${estimate:.2f} is above --max-cost-usd {max_cost_usd:g}; "
                    "raise it, or use fewer --users or a shorter --duration"
                )
        with LoadLiveView(console) as view:
            report, run_dir, results = run_stoppable(run_load(scenarios, options, view), out / run_id)
    assert report.load is not None
    render_load_summary(report.load, results, console)
    console.print(f"report: {run_dir / 'report.json'}")
    print_rendered(run_dir)
    raise typer.Exit(EXIT_OK if report.load.passed else EXIT_FAILED)


def _require_ray() -> None:
    import importlib.util

    if importlib.util.find_spec("ray") is None:
        raise UsageError("--ray needs Ray: pip install 'realtime-harness[ray]'")
