"""The live view of ``rth run``: sessions running, done and failed, and each running one's turn.

On a terminal it is a rich ``Live`` panel redrawn in place four times a second by rich's own
thread (nothing is drawn from the event loop that paces audio) and cleared at the end, when the
full run table is printed; in CI logs, which are not terminals, one line per finished session.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any, Self

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from harness.report.model import ScenarioReport


class TerminalLive:
    """A rich ``Live`` region on a terminal, nothing elsewhere (CI logs get lines instead)."""

    def __init__(self, console: Console, **live_options: Any) -> None:
        self.console = console
        self._live_options = live_options
        self._live: Live | None = None

    def __enter__(self) -> Self:
        if self.console.is_terminal:
            self._live = Live(self.renderable(), console=self.console, **self._live_options)
            self._live.__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._live is not None:
            self._live.__exit__(exc_type, exc, tb)
            self._live = None

    def renderable(self) -> Any:
        """What the region shows from the start (None: whatever ``update`` gives it later)."""
        return None


class LiveView(TerminalLive):
    """A :class:`harness.runner.RunObserver` that draws on ``console``."""

    def __init__(self, console: Console, planned: int, concurrency: int) -> None:
        super().__init__(console, refresh_per_second=4, transient=True)
        self.planned = planned
        self.concurrency = concurrency
        self.running: dict[str, tuple[float, str]] = {}  # instance -> (started, current turn)
        self.passed = 0
        self.failed = 0

    # ---- RunObserver -----------------------------------------------------------------------

    def session_started(self, instance: str) -> None:
        self.running[instance] = (time.monotonic(), "connecting")

    def turn_started(self, instance: str, turn: str) -> None:
        started, _ = self.running.get(instance, (time.monotonic(), ""))
        self.running[instance] = (started, turn)

    def session_finished(self, instance: str, report: ScenarioReport) -> None:
        started, _ = self.running.pop(instance, (time.monotonic(), ""))
        if report.passed:
            self.passed += 1
        else:
            self.failed += 1
        if self._live is None:
            self._print_line(instance, report, time.monotonic() - started)

    # ---- drawing ---------------------------------------------------------------------------

    def _print_line(self, instance: str, report: ScenarioReport, elapsed: float) -> None:
        done = self.passed + self.failed
        mark = "PASS" if report.passed else "FAIL"
        why = f" ({report.failure_kind})" if report.failure_kind else ""
        self.console.print(
            f"[{done}/{self.planned}] {mark} {instance}{why} {len(report.turns)} turn(s) in {elapsed:.1f} s",
            markup=False,
            highlight=False,
        )

    def renderable(self) -> Any:
        return self  # drawn afresh at each refresh through __rich__

    def __rich__(self) -> Group:
        """Drawn afresh at every refresh, so elapsed times tick between events."""
        done = self.passed + self.failed
        header = Text(
            f"sessions: {len(self.running)} running, {done}/{self.planned} done, "
            f"{self.failed} failed (concurrency {self.concurrency})"
        )
        table = Table(box=None, pad_edge=False, show_header=bool(self.running))
        table.add_column("session")
        table.add_column("turn")
        table.add_column("elapsed", justify="right")
        now = time.monotonic()
        for instance, (started, turn) in sorted(self.running.items()):
            table.add_row(instance, turn, f"{now - started:.1f} s")
        return Group(header, table)
