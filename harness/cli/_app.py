"""The ``rth`` Typer app and what every command shares: consoles, exit codes, option choices.

Exit codes: 0 every expectation met, 1 some failed (or the run failed), 2 bad usage or input
(a one-line error, never a traceback), 130 interrupted by SIGINT (Ctrl-C) and 143 by SIGTERM (the
partial report is still written; see :mod:`harness.cli._signals`).
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from typer.core import TyperGroup

from harness import __version__
from harness.cli._signals import Interrupted
from harness.errors import HarnessError, UsageError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

# CI logs are not terminals; rich would assume 80 columns and squeeze the run table.
console = Console(width=None if sys.stdout.isatty() else 120)
errors = Console(stderr=True)


class ConnectChoice(StrEnum):
    unified = "unified"
    ephemeral = "ephemeral"


class NetworkChoice(StrEnum):
    """The presets of :data:`harness.protocol.faults.PRESETS` (a test keeps the two equal)."""

    lossy_wifi = "lossy-wifi"
    g3 = "3g"
    edge = "edge"


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    _say_error(message)
    raise typer.Exit(code)


def _say_error(message: str) -> None:
    errors.print(f"rth: error: {message}", markup=False, highlight=False, soft_wrap=True)


class OneLineErrors(TyperGroup):
    """Option and argument mistakes as one ``rth: error:`` line (exit 2), like every other usage
    problem, instead of click's usage text in a rich panel: a CI log stays readable, a script can
    grep it. (Typer's click errors are :class:`typer.TyperException` s.)"""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        parse = functools.partial(super().main, args, prog_name, complete_var, standalone_mode=False)
        if not standalone_mode:
            return parse(windows_expand_args=windows_expand_args, **extra)
        try:
            code = parse(windows_expand_args=windows_expand_args, **extra)
        except typer.TyperException as exc:
            if type(exc).__name__ != "NoArgsIsHelpError":  # `rth` alone: the help is shown
                _say_error(_usage_line(exc))
            sys.exit(EXIT_USAGE)
        except typer.Abort:
            _say_error("aborted")
            sys.exit(EXIT_FAILED)
        sys.exit(code if isinstance(code, int) else EXIT_OK)


def _usage_line(exc: typer.TyperException) -> str:
    """``rth run: invalid value for '--repeat': ...; see 'rth run --help'``."""
    message = " ".join(exc.format_message().replace("Value error, ", "").split()).rstrip(".")
    message = message[:1].lower() + message[1:]
    ctx = getattr(exc, "ctx", None)
    names: list[str] = []
    while ctx is not None and ctx.parent is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    command = " ".join(["rth", *reversed(names)])
    param = getattr(exc, "param", None)
    if param is not None and not any(name in message for name in (*param.opts, param.name) if name):
        message = f"{'/'.join(param.opts) or param.name}: {message}"
    return f"{command}: {message}; see '{command} --help'"


app = typer.Typer(
    name="rth",
    cls=OneLineErrors,
    help="Test and load-test speech-to-speech Realtime APIs over WebRTC.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


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
