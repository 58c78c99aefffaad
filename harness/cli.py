"""``rth``: a thin Typer layer over the runner, the stand-in server, scenarios and reports.

Exit codes: 0 every expectation met, 1 some failed (or the run failed), 2 bad usage or input
(a one-line error, never a traceback), 130 interrupted (the partial report is still written).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from harness import __version__
from harness.errors import HarnessError, ScenarioError

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


class ConnectChoice(StrEnum):
    unified = "unified"
    ephemeral = "ephemeral"


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    errors.print(f"rth: error: {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


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
    model: Annotated[str, typer.Option(help="Realtime model for the call.")] = "gpt-realtime",
) -> None:
    """Run scenarios against a target and write report.json, timeline.jsonl and the audio."""
    from harness.client import ConnectMode
    from harness.report import render_table
    from harness.runner import RunOptions, run_suite
    from harness.scenario import load_scenarios

    try:
        scenarios = load_scenarios(paths)
        options = RunOptions(target=target, connect=ConnectMode(connect.value), out=out, model=model)
        report, run_dir = asyncio.run(run_suite(scenarios, options))
    except KeyboardInterrupt:
        errors.print(f"rth: interrupted; the partial report is under {out}/latest/report.json")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except ScenarioError as exc:
        _fail(str(exc))
    except HarnessError as exc:
        _fail(str(exc), EXIT_FAILED)
    except Exception as exc:  # a bug of ours: still one line, the traceback only on request
        if os.environ.get("RTH_DEBUG"):
            raise
        _fail(f"internal error {type(exc).__name__}: {exc} (set RTH_DEBUG=1 for the traceback)", EXIT_FAILED)
    render_table(report, console)
    console.print(f"report: {run_dir / 'report.json'}")
    raise typer.Exit(EXIT_OK if report.passed else EXIT_FAILED)


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
) -> None:
    """Run the stand-in Realtime server (HTTP + WebRTC + data channel, offline ASR and TTS)."""
    from harness.server import ServerConfig
    from harness.server import serve as serve_forever

    try:
        serve_forever(ServerConfig(host=host, port=port, api_key=api_key))
    except OSError as exc:
        _fail(f"cannot listen on {host}:{port}: {exc.strerror}; pick another --port or --host")
    except KeyboardInterrupt:
        raise typer.Exit(EXIT_OK) from None


@app.command()
def validate(
    paths: Annotated[list[Path], typer.Argument(help="Scenario files or folders.")],
) -> None:
    """Check scenario files; print every problem as file:line:column: field: problem."""
    from harness.scenario import discover, load_scenario

    try:
        files = discover(paths)
    except ScenarioError as exc:
        _fail(str(exc))
    problems: list[str] = []
    for path in files:
        try:
            load_scenario(path)
        except ScenarioError as exc:
            problems.extend(exc.problems)
    for line in problems:
        errors.print(line, markup=False, highlight=False, soft_wrap=True)
    if problems:
        raise typer.Exit(EXIT_USAGE)
    console.print(f"{len(files)} scenario file(s) valid")


@app.command()
def schema() -> None:
    """Print the JSON Schema of scenario files (for editors' YAML language servers)."""
    from harness.scenario import scenario_json_schema

    sys.stdout.write(json.dumps(scenario_json_schema(), indent=2) + "\n")


if __name__ == "__main__":
    app()
