"""What a run tells whoever watches it (the CLI's live view), as it happens.

The runner calls these hooks; it never draws anything itself (as Locust keeps its runner apart
from its stats and UI). Every hook names the session by its plan ``instance``.
"""

from __future__ import annotations

from typing import Protocol

from harness.report.model import ScenarioReport


class RunObserver(Protocol):
    def session_started(self, instance: str) -> None: ...

    def turn_started(self, instance: str, turn: str) -> None: ...

    def session_finished(self, instance: str, report: ScenarioReport) -> None: ...


class NoObserver:
    """Watches nothing (the pytest plugin, library use)."""

    def session_started(self, instance: str) -> None:
        pass

    def turn_started(self, instance: str, turn: str) -> None:
        pass

    def session_finished(self, instance: str, report: ScenarioReport) -> None:
        pass
