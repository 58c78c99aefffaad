"""What was said, read off the timeline: transcripts and response status, looked up by id.

Transcripts are found by id (the committed item, the created response), never by position:
input transcription arrives asynchronously, often during the next turn.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from harness.protocol import ServerEventType
from harness.timeline import EntryKind, TimelineEntry

Event = dict[str, Any]


class ReceivedEvents:
    """A session's received server events (in recording order), grouped by type and by turn in one
    pass: every turn asks several questions, and the timeline may hold tens of thousands of deltas."""

    def __init__(self, entries: Iterable[TimelineEntry]) -> None:
        self.all: list[Event] = []
        self._by_type: dict[str, list[Event]] = {}
        self._by_turn: dict[int, list[Event]] = {}
        for entry in entries:
            if entry.kind != EntryKind.RECEIVED:
                continue
            self.all.append(entry.data)
            self._by_type.setdefault(entry.type, []).append(entry.data)
            if entry.turn is not None:
                self._by_turn.setdefault(entry.turn, []).append(entry.data)

    def of_type(self, type_: str) -> list[Event]:
        return self._by_type.get(type_, [])

    def of_turn(self, turn: int | None) -> list[Event]:
        """Server events received while the turn ran (all of them for ``turn=None``)."""
        return self.all if turn is None else self._by_turn.get(turn, [])


def user_transcript(events: ReceivedEvents, item_id: str | None) -> str | None:
    """The completed input transcription of the item; its deltas joined if it never completed."""
    if item_id is None:
        return None
    for event in events.of_type(ServerEventType.INPUT_TRANSCRIPTION_COMPLETED):
        if event.get("item_id") == item_id:
            return str(event.get("transcript", ""))
    deltas = [
        str(e.get("delta", ""))
        for e in events.of_type(ServerEventType.INPUT_TRANSCRIPTION_DELTA)
        if e.get("item_id") == item_id
    ]
    return "".join(deltas) if deltas else None


def assistant_transcript(events: ReceivedEvents, response_id: str | None) -> str | None:
    """The .done transcript (audio) or text of a response; its deltas joined if .done never came."""
    if response_id is None:
        return None
    for done_type, field in (
        (ServerEventType.RESPONSE_OUTPUT_AUDIO_TRANSCRIPT_DONE, "transcript"),
        (ServerEventType.RESPONSE_OUTPUT_TEXT_DONE, "text"),
    ):
        for event in events.of_type(done_type):
            if event.get("response_id") == response_id:
                return str(event.get(field, ""))
    deltas = [
        str(e.get("delta", ""))
        for delta_type in (
            ServerEventType.RESPONSE_OUTPUT_AUDIO_TRANSCRIPT_DELTA,
            ServerEventType.RESPONSE_OUTPUT_TEXT_DELTA,
        )
        for e in events.of_type(delta_type)
        if e.get("response_id") == response_id
    ]
    return "".join(deltas) if deltas else None


def response_status(events: ReceivedEvents, response_id: str | None) -> str | None:
    for event in events.of_type(ServerEventType.RESPONSE_DONE):
        response = event.get("response") or {}
        if response.get("id") == response_id:
            return str(response.get("status"))
    return None
