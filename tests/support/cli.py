"""One way to run the command line in tests: ``rth ARGS`` in process, or in a subprocess.

In process (the default) Typer's CliRunner calls the app: fast, no interpreter start. With
``in_subprocess=True`` it is ``python -m harness.cli ARGS`` as a user runs it: real exit status,
real stderr, real signals (``interrupt_when`` sends Ctrl-C, or the signals ``interrupt_with``
lists). Either way the command runs from the repository root unless ``cwd`` says otherwise, and
the result has the same shape.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from harness.cli import app


@dataclass(frozen=True)
class CliResult:
    exit_code: int
    stdout: str
    stderr: str
    # What a terminal shows: interleaved as written in process; stdout, then stderr, in a subprocess.
    output: str

    def one_error_line(self, code: int) -> str:
        """The ``rth: error:`` line that is all this run printed, after checking it exited ``code``
        with no traceback and no rich panel."""
        assert self.exit_code == code, self.output
        assert "Traceback" not in self.output and "╭" not in self.output
        lines = self.output.strip().splitlines()
        assert len(lines) == 1, self.output
        assert lines[0].startswith("rth: error: ")
        return lines[0]


@dataclass(frozen=True)
class _Interrupt:
    when: Callable[[], bool] | None
    within: float
    signals: tuple[signal.Signals, ...]


class Cli:
    """``run_cli(*args, ...)``: run ``rth`` (or with ``module=``, another ``python -m`` program)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def __call__(
        self,
        *args: str,
        in_subprocess: bool = False,
        cwd: Path | None = None,
        env: Mapping[str, str | None] | None = None,
        timeout: float = 180,
        interrupt_when: Callable[[], bool] | None = None,
        interrupt_within: float = 60,
        interrupt_with: Sequence[signal.Signals] = (signal.SIGINT,),
        module: str = "harness.cli",
    ) -> CliResult:
        """``env`` changes the environment (None unsets a variable). ``interrupt_when`` (subprocess
        only) is polled every 0.1 s: SIGINT (or each of ``interrupt_with``, back to back) goes out
        once it is true or ``interrupt_within`` seconds have passed. ``module`` other than
        harness.cli (e.g. pytest) always runs in a subprocess."""
        cwd = cwd or self.root
        if in_subprocess or module != "harness.cli":
            interrupt = _Interrupt(interrupt_when, interrupt_within, tuple(interrupt_with))
            return self._subprocess(module, args, cwd, env, timeout, interrupt)
        if interrupt_when is not None:
            raise ValueError("interrupt_when needs in_subprocess=True (a real process to signal)")
        with contextlib.chdir(cwd):
            result = CliRunner().invoke(app, list(args), env=env)
        return CliResult(result.exit_code, result.stdout, result.stderr, result.output)

    @staticmethod
    def _subprocess(
        module: str,
        args: tuple[str, ...],
        cwd: Path,
        env: Mapping[str, str | None] | None,
        timeout: float,
        interrupt: _Interrupt,
    ) -> CliResult:
        environ = None
        if env is not None:
            environ = dict(os.environ)
            for key, value in env.items():
                if value is None:
                    environ.pop(key, None)
                else:
                    environ[key] = value
        process = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=cwd,
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            if interrupt.when is not None:
                deadline = time.monotonic() + interrupt.within
                while time.monotonic() < deadline and not interrupt.when():
                    time.sleep(0.1)
                for sig in interrupt.signals:
                    process.send_signal(sig)
            stdout, stderr = process.communicate(timeout=timeout)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
        return CliResult(process.returncode, stdout, stderr, stdout + stderr)
