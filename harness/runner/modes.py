"""Turn modes: who ends the user's turn, switched per turn with ``session.update`` when needed.

``manual`` turns need ``turn_detection: null`` (push-to-talk: the client commits); ``vad`` turns
need turn detection on (the server commits and, with ``create_response``, answers by itself). A
session starts with the scenario's setting; a turn of the other mode switches it first and waits
for ``session.updated``, as a client toggling push-to-talk would.
"""

from __future__ import annotations

from typing import Any

from harness.client import RealtimeSession
from harness.errors import ProtocolError
from harness.protocol import ServerEventType
from harness.scenario import Scenario, TurnMode

DEFAULT_VAD: dict[str, Any] = {"type": "server_vad"}


def vad_config(scenario: Scenario) -> dict[str, Any]:
    """The turn detection a vad turn uses: the session's own, else server_vad with its defaults."""
    return scenario.session.turn_detection() or dict(DEFAULT_VAD)


class TurnDetectionSwitch:
    """Tracks the session's turn detection and changes it when a turn's mode needs another."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.current: dict[str, Any] | None = scenario.session.turn_detection()

    def wanted(self, mode: TurnMode) -> dict[str, Any] | None:
        return None if mode == "manual" else vad_config(self.scenario)

    async def ensure(self, session: RealtimeSession, mode: TurnMode) -> bool:
        """Switch if needed; True when a session.update was sent. Raises ProtocolError if rejected."""
        wanted = self.wanted(mode)
        if wanted == self.current:
            return False
        reply = await session.update_session({"audio": {"input": {"turn_detection": wanted}}})
        if reply["type"] == ServerEventType.ERROR:
            error = reply.get("error") or {}
            raise ProtocolError(
                f"switching to {mode} turns was rejected: {error.get('code')}: {error.get('message')}"
            )
        self.current = wanted
        return True
