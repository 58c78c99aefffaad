"""The ``rth`` Typer app and what every command shares: consoles, exit codes, option choices.

Exit codes: 0 every expectation met, 1 some failed (or the run failed), 2 bad usage or input
(a one-line error, never a traceback), 130 interrupted by SIGINT (Ctrl-C) and 143 by SIGTERM (the
partial report is still written; see :mod:`harness.cli._signals`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from harness import __version__
from harness.cli._signals import Interrupted
from harness.errors import HarnessError, UsageError

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


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    errors.print(f"rth: error: {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def exit_codes(
    interrupted: str | None = "interrupted",
    interrupted_code: int = EXIT_INTERRUPTED,
    *,
    report: Path | None = None,
) -> Iterator[None]:
    """The one mapping of failures to exit codes, around the work of every command.

    :class:`UsageError` (bad option, file or environment) exits 2, any other :class:`HarnessError`
    1, both with their one-line message. A bug of ours is one line too (``RTH_DEBUG=1`` re-raises it
    for the traceback). Ctrl-C prints ``interrupted`` (if any) and exits ``interrupted_code``; a
    stop by signal (:class:`Interrupted`) exits ``128 + signal`` and names the partial ``report``
    (the real run directory's, never ``latest``) when it was written.
    """
    try:
        yield
    except typer.Exit:
        raise
    except UsageError as exc:
        fail(str(exc), EXIT_USAGE)
    except HarnessError as exc:
        fail(str(exc), EXIT_FAILED)
    except KeyboardInterrupt as exc:
        code = exc.exit_code if isinstance(exc, Interrupted) else interrupted_code
        if interrupted is not None:
            how = f"{interrupted} by {exc.name}" if isinstance(exc, Interrupted) else interrupted
            if report is not None:
                kept = report.is_file()
                how += f"; the partial report is {report}" if kept else " before anything was measured"
            errors.print(f"rth: {how}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(code) from None
    except Exception as exc:
        if os.environ.get("RTH_DEBUG"):
            raise
        fail(f"internal error {type(exc).__name__}: {exc} (set RTH_DEBUG=1 for the traceback)", EXIT_FAILED)


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


def print_rendered(run_dir: Path) -> None:
    """The rendered files, index.html last: it is what a person opens next (``make demo`` ends on it)."""
    for label, name in (("junit", "junit.xml"), ("summary", "summary.md"), ("html", "index.html")):
        if (run_dir / name).is_file():
            console.print(f"{label}: {run_dir / name}", soft_wrap=True, highlight=False)
