"""Token usage of a session, read off its timeline: per turn and for the whole session.

The live API bills per response; its ``response.done`` carries a ``usage`` object (the stand-in
estimates one). A turn's responses are the ones the server created while the turn ran, plus the
turn's own ``response_id``, so a retried ``response.create`` is billed to its turn too.
"""

from __future__ import annotations

from collections.abc import Iterable

from harness.protocol import ServerEventType
from harness.report.model import TokenUsage
from harness.report.usage import add_usage, usage_of
from harness.timeline import EntryKind, TimelineEntry


class SessionUsage:
    """Usage by response id and the responses each turn created, from one pass over the timeline."""

    def __init__(self, entries: Iterable[TimelineEntry]) -> None:
        self.by_response: dict[str, TokenUsage] = {}
        self._created: dict[int, set[str]] = {}
        for entry in entries:
            if entry.kind != EntryKind.RECEIVED:
                continue
            response = entry.data.get("response") or {}
            response_id = response.get("id")
            if not response_id:
                continue
            if entry.type == ServerEventType.RESPONSE_DONE:
                usage = usage_of(response)
                if usage is not None:
                    self.by_response[str(response_id)] = usage
            elif entry.type == ServerEventType.RESPONSE_CREATED and entry.turn is not None:
                self._created.setdefault(entry.turn, set()).add(str(response_id))

    def of_turn(self, turn: int, response_id: str | None) -> TokenUsage | None:
        ids = self._created.get(turn, set()) | ({response_id} if response_id else set())
        return add_usage(self.by_response.get(rid) for rid in sorted(ids))

    @property
    def total(self) -> TokenUsage | None:
        return add_usage(self.by_response.values())
