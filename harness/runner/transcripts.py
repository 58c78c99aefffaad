"""What was said, read off the timeline: transcripts and response status, looked up by id.

Transcripts are found by id (the committed item, the created response), never by position:
input transcription arrives asynchronously, often during the next turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.protocol import ServerEventType
from harness.timeline import EntryKind, TimelineEntry


def received(entries: Sequence[TimelineEntry], type_: str) -> list[dict[str, Any]]:
    return [e.data for e in entries if e.kind == EntryKind.RECEIVED and e.type == type_]


def user_transcript(entries: Sequence[TimelineEntry], item_id: str | None) -> str | None:
    """The completed input transcription of the item; its deltas joined if it never completed."""
    if item_id is None:
        return None
    for event in received(entries, ServerEventType.INPUT_TRANSCRIPTION_COMPLETED):
        if event.get("item_id") == item_id:
            return str(event.get("transcript", ""))
    deltas = [
        str(e.get("delta", ""))
        for e in received(entries, ServerEventType.INPUT_TRANSCRIPTION_DELTA)
        if e.get("item_id") == item_id
    ]
    return "".join(deltas) if deltas else None


def assistant_transcript(entries: Sequence[TimelineEntry], response_id: str | None) -> str | None:
    """The .done transcript (audio) or text of a response; its deltas joined if .done never came."""
    if response_id is None:
        return None
    for done_type, field in (
        (ServerEventType.RESPONSE_OUTPUT_AUDIO_TRANSCRIPT_DONE, "transcript"),
        (ServerEventType.RESPONSE_OUTPUT_TEXT_DONE, "text"),
    ):
        for event in received(entries, done_type):
            if event.get("response_id") == response_id:
                return str(event.get(field, ""))
    deltas = [
        str(e.get("delta", ""))
        for delta_type in (
            ServerEventType.RESPONSE_OUTPUT_AUDIO_TRANSCRIPT_DELTA,
            ServerEventType.RESPONSE_OUTPUT_TEXT_DELTA,
        )
        for e in received(entries, delta_type)
        if e.get("response_id") == response_id
    ]
    return "".join(deltas) if deltas else None


def response_status(entries: Sequence[TimelineEntry], response_id: str | None) -> str | None:
    for event in received(entries, ServerEventType.RESPONSE_DONE):
        response = event.get("response") or {}
        if response.get("id") == response_id:
            return str(response.get("status"))
    return None


def turn_events(entries: Sequence[TimelineEntry], turn: int | None) -> list[dict[str, Any]]:
    """Server events received while the turn ran (all of them for ``turn=None``)."""
    return [e.data for e in entries if e.kind == EntryKind.RECEIVED and (turn is None or e.turn == turn)]
