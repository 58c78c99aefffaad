"""``rth``: a thin Typer layer over the runner, the stand-in server, scenarios and reports.

Exit codes: 0 every expectation met, 1 some failed (or the run failed), 2 bad usage or input
(a one-line error, never a traceback), 130 interrupted (the partial report is still written).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console

from harness import __version__
from harness.errors import HarnessError, UsageError
from harness.protocol import DEFAULT_MODEL

if TYPE_CHECKING:
    from harness.report.model import RunReport

app = typer.Typer(
    name="rth",
    help="Test and load-test speech-to-speech Realtime APIs over WebRTC.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# CI logs are not terminals; rich would assume 80 columns and squeeze the run table.
console = Console(width=None if sys.stdout.isatty() else 120)
errors = Console(stderr=True)

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class StandinChoice(StrEnum):
    inline = "inline"
    process = "process"


class ConnectChoice(StrEnum):
    unified = "unified"
    ephemeral = "ephemeral"


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    errors.print(f"rth: error: {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def _exit_codes(
    interrupted: str | None = "interrupted", interrupted_code: int = EXIT_INTERRUPTED
) -> Iterator[None]:
    """The one mapping of failures to exit codes, around the work of every command.

    :class:`UsageError` (bad option, file or environment) exits 2, any other :class:`HarnessError`
    1, both with their one-line message. A bug of ours is one line too (``RTH_DEBUG=1`` re-raises it
    for the traceback). Ctrl-C prints ``interrupted`` (if any) and exits ``interrupted_code``.
    """
    try:
        yield
    except typer.Exit:
        raise
    except UsageError as exc:
        _fail(str(exc), EXIT_USAGE)
    except HarnessError as exc:
        _fail(str(exc), EXIT_FAILED)
    except KeyboardInterrupt:
        if interrupted is not None:
            errors.print(f"rth: {interrupted}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(interrupted_code) from None
    except Exception as exc:
        if os.environ.get("RTH_DEBUG"):
            raise
        _fail(f"internal error {type(exc).__name__}: {exc} (set RTH_DEBUG=1 for the traceback)", EXIT_FAILED)


def _version(value: bool) -> None:
    if value:
        console.print(f"rth {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Test and load-test speech-to-speech Realtime APIs over WebRTC."""


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
            help="AXIS=V1,V2 with AXIS model or voice; repeat the option for more axes. Runs the cross "
            "product and compares the variants."
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
) -> None:
    """Run scenarios against a target and write the run directory.

    reports/<run-id>/ gets report.json, timeline.jsonl, the audio sent and received, junit.xml,
    summary.md and index.html; reports/latest points at it.
    """
    import asyncio

    from harness.client import ConnectMode
    from harness.report import render_table
    from harness.report.live import LiveView
    from harness.runner import DEFAULT_CONCURRENCY, RunOptions, run_suite
    from harness.runner.plan import build_plan, parse_matrix
    from harness.scenario import load_suite, select_tagged

    with _exit_codes(f"interrupted; the partial report is under {out}/latest/report.json"):
        suite = load_suite(paths)
        scenarios = select_tagged(suite.scenarios, tag or [])
        options = RunOptions(
            target=target,
            connect=ConnectMode(connect.value),
            out=out,
            model=model,
            repeat=repeat,
            matrix=parse_matrix(matrix or []),
            prices=prices,
            concurrency=concurrency or suite.concurrency or DEFAULT_CONCURRENCY,
            standin_in_process=standin is StandinChoice.inline,
        )
        planned = len(build_plan(scenarios, options.repeat, options.matrix))
        with LiveView(console, planned, options.concurrency) as view:
            report, run_dir = asyncio.run(run_suite(scenarios, options, view))
    render_table(report, console)
    _print_repeats_and_matrix(report)
    console.print(f"report: {run_dir / 'report.json'}")
    _print_rendered(run_dir)
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


def _print_rendered(run_dir: Path) -> None:
    """The rendered files, index.html last: it is what a person opens next (``make demo`` ends on it)."""
    for label, name in (("junit", "junit.xml"), ("summary", "summary.md"), ("html", "index.html")):
        if (run_dir / name).is_file():
            console.print(f"{label}: {run_dir / name}", soft_wrap=True, highlight=False)


@app.command()
def load(
    paths: Annotated[list[Path], typer.Argument(help="Scenario files or folders; each user loops them.")],
    users: Annotated[
        int, typer.Option(min=1, help="Sessions kept live (closed model); the step size with --ramp-until.")
    ] = 10,
    duration: Annotated[
        float, typer.Option(min=1.0, help="Seconds of load (after which sessions end).")
    ] = 30.0,
    ramp_up: Annotated[
        float, typer.Option(min=0.0, help="Seconds to reach --users (or --rate) linearly.")
    ] = 0.0,
    rate: Annotated[
        float | None, typer.Option(min=0.01, help="Open model: start this many sessions per second instead.")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, max=256, help="Worker processes (default: the cores available).")
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
) -> None:
    """Load-test: keep N sessions live (or start R per second) and measure latency under load.

    Percentiles are merged exactly over the workers (HDR histograms); thresholds decide the exit
    code (0 all held, 1 one broke). The run directory is the same as `rth run`'s, plus a `load`
    object in report.json; sampled sessions keep timelines, audio and WER.
    """
    import asyncio

    from harness.client import ConnectMode
    from harness.load import LoadOptions, estimate_cost, parse_threshold, parse_thresholds, run_load
    from harness.load.driver import default_workers
    from harness.report.load_live import LoadLiveView, render_load_summary
    from harness.runner import RunOptions
    from harness.scenario import load_suite

    with _exit_codes(f"interrupted; the partial report is under {out}/latest/report.json"):
        scenarios = load_suite(paths).scenarios
        options = LoadOptions(
            run=RunOptions(
                target=target,
                connect=ConnectMode(connect.value),
                out=out,
                model=model,
                prices=prices,
                standin_load=True,  # the built-in stand-in must not be what limits the load
            ),
            users=users,
            duration_s=duration,
            ramp_up_s=ramp_up,
            rate=rate,
            workers=workers or default_workers(),
            thresholds=parse_thresholds(threshold or []),
            score_sample=score_sample,
            ramp_until=parse_threshold(ramp_until) if ramp_until else None,
            step_s=step,
            max_users=max_users,
            seed=seed,
        )
        estimate = estimate_cost(scenarios, options)
        if estimate is not None:
            console.print(f"estimated cost of this run: ${estimate:.2f} (--max-cost-usd {max_cost_usd:g})")
            if estimate > max_cost_usd:
                raise UsageError(
                    f"estimated cost ${estimate:.2f} is above --max-cost-usd {max_cost_usd:g}; "
                    "raise it, or use fewer --users or a shorter --duration"
                )
        with LoadLiveView(console) as view:
            report, run_dir, results = asyncio.run(run_load(scenarios, options, view))
    assert report.load is not None
    render_load_summary(report.load, results, console)
    console.print(f"report: {run_dir / 'report.json'}")
    _print_rendered(run_dir)
    raise typer.Exit(EXIT_OK if report.load.passed else EXIT_FAILED)


class PaceChoice(StrEnum):
    ahead = "ahead"
    realtime = "realtime"


class TurnDetectionChoice(StrEnum):
    server_vad = "server_vad"
    semantic_vad = "semantic_vad"
    none = "none"


@app.command()
def serve(
    host: Annotated[
        str, typer.Option(help="Address to bind; loopback keeps ICE on 127.0.0.1.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port for the HTTP endpoints.")] = 8089,
    api_key: Annotated[
        str | None,
        typer.Option(
            help="Accept only this standard key (default: any non-empty key).", envvar="RTH_SERVE_API_KEY"
        ),
    ] = None,
    pace: Annotated[
        PaceChoice,
        typer.Option(
            help="ahead: replies generate faster than they play, as the live API (response.done before "
            "the audio ends); realtime: generation follows playback."
        ),
    ] = PaceChoice.ahead,
    generation_speed: Annotated[
        float, typer.Option(min=1.0, help="With --pace ahead: how many times faster than real time.")
    ] = 3.0,
    turn_detection: Annotated[
        TurnDetectionChoice, typer.Option(help="turn_detection of new sessions (clients may change it).")
    ] = TurnDetectionChoice.server_vad,
    persona: Annotated[
        Path | None, typer.Option(help="YAML reply rules (see examples/personas/); default echoes the user.")
    ] = None,
    voice: Annotated[str, typer.Option(help="Default output voice of new sessions.")] = "cedar",
    first_audio_delay_ms: Annotated[
        float, typer.Option(min=0.0, help="Hold each reply's first audio this long after response.created.")
    ] = 0.0,
    transcription_delay_ms: Annotated[
        float, typer.Option(min=0.0, help="Hold input transcription events this long after the commit.")
    ] = 0.0,
    jitter_ms: Annotated[
        float, typer.Option(min=0.0, help="Add a random 0..N ms to each injected delay (seeded).")
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed of the injected jitter (same seed, same delays).")] = 0,
    load: Annotated[
        bool,
        typer.Option(
            "--load",
            help="Load mode: replies Opus-encoded once and sent as packets; no decoding or recognition "
            "nobody needs (same events and timing; see docs/standin.md).",
        ),
    ] = False,
    workers: Annotated[
        int, typer.Option(min=1, help="Server processes sharing the port (SO_REUSEPORT), one loop each.")
    ] = 1,
    timing_log: Annotated[
        Path | None,
        typer.Option(
            help="Append each injected delay, once complete, to this file as a JSON line (call_id, kind, "
            "subject_id, target_ms, actual_ms, actual_at: time.monotonic() of this machine)."
        ),
    ] = None,
) -> None:
    """Run the stand-in Realtime server (HTTP + WebRTC + data channel, offline ASR and TTS)."""
    from harness.server import ResponsePacing, ServerConfig, TurnDetectionDefault, load_persona
    from harness.server import serve as serve_forever
    from harness.server.session import VOICES

    with _exit_codes(interrupted=None, interrupted_code=EXIT_OK):  # Ctrl-C is how a server stops
        if voice not in VOICES:
            raise UsageError(f"unknown --voice {voice!r}; use one of {', '.join(VOICES)}")
        if persona is not None:
            load_persona(persona)  # a bad file fails here, not on the first call
        config = ServerConfig(
            host=host,
            port=port,
            api_key=api_key,
            voice=voice,
            pacing=ResponsePacing(pace.value),
            generation_speed=generation_speed,
            turn_detection=TurnDetectionDefault(turn_detection.value),
            persona=persona,
            first_audio_delay_ms=first_audio_delay_ms,
            transcription_delay_ms=transcription_delay_ms,
            jitter_ms=jitter_ms,
            seed=seed,
            load=load,
            workers=workers,
            timing_log_path=timing_log,
        )
        try:
            serve_forever(config)
        except OSError as exc:
            raise UsageError(
                f"cannot listen on {host}:{port}: {exc.strerror}; pick another --port or --host"
            ) from None


@app.command()
def validate(
    paths: Annotated[list[Path], typer.Argument(help="Scenario files or folders.")],
) -> None:
    """Check scenario and suite files without running anything.

    Includes are followed; every problem is printed as file:line:column: field: problem; fix.
    """
    from harness.scenario import check

    with _exit_codes():
        checked = check(paths)
    for line in checked.problems:
        errors.print(line, markup=False, highlight=False, soft_wrap=True)
    if checked.problems:
        errors.print(f"{len(checked.problems)} problem(s) in {len(checked.files)} file(s)", highlight=False)
        raise typer.Exit(EXIT_USAGE)
    console.print(
        f"{len(checked.files)} file(s), {len(checked.scenarios)} scenario(s), "
        f"{sum(len(s.turns) for s in checked.scenarios)} turn(s): valid",
        highlight=False,
    )


@app.command()
def schema() -> None:
    """Print the JSON Schema of scenario and suite files (for editors).

    Save it (rth schema > docs/scenario.schema.json) and start a scenario file with
    `# yaml-language-server: $schema=PATH`.
    """
    from harness.scenario import scenario_json_schema

    sys.stdout.write(json.dumps(scenario_json_schema(), indent=2) + "\n")


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

    with _exit_codes():
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

    with _exit_codes():
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


if __name__ == "__main__":
    app()
