"""The session timeline: every sent/received event and audio milestone on one monotonic clock.

It is the single source of truth that metrics and reports read. Entries are streamed to JSONL
as they happen (``timeline.jsonl``), so nothing measured is lost when a run dies mid-way.

Entry shape (one JSON object per line)::

    {"t": 1.234567, "session": "smoke/0", "kind": "received", "type": "response.done",
     "turn": 0, "data": {...}}

``t`` is seconds since the timeline's origin (``time.monotonic()`` at creation); ``kind`` is one
of :class:`EntryKind`; ``type`` is the event type for sent/received entries or a milestone name
from :class:`~harness.protocol.Milestone` (re-exported here); ``data`` holds the full event for
sent/received entries.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from harness.protocol.milestones import Milestone

__all__ = ["EntryKind", "Milestone", "Timeline", "TimelineEntry", "read_jsonl"]


class EntryKind(StrEnum):
    SENT = "sent"  # a client event sent on the data channel
    RECEIVED = "received"  # a server event received on the data channel
    MILESTONE = "milestone"  # connect phases, turn boundaries, audio onsets


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    t: float
    kind: EntryKind
    type: str
    turn: int | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self, session: str | None = None) -> dict[str, Any]:
        record: dict[str, Any] = {"t": round(self.t, 6), "kind": str(self.kind), "type": self.type}
        if session is not None:
            record["session"] = session
        record["turn"] = self.turn
        record["data"] = self.data
        return record

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> TimelineEntry:
        return cls(
            t=float(record["t"]),
            kind=EntryKind(record["kind"]),
            type=str(record["type"]),
            turn=record.get("turn"),
            data=dict(record.get("data") or {}),
        )


class Timeline:
    """Append-only list of entries on one monotonic clock, optionally streamed to a JSONL file."""

    def __init__(self, session: str = "session", stream: IO[str] | None = None) -> None:
        self.session = session
        self.origin = time.monotonic()
        self.started_at = datetime.now(UTC)
        self.entries: list[TimelineEntry] = []
        self.turn: int | None = None
        self._stream = stream

    def now(self) -> float:
        """Seconds since the origin on the monotonic clock."""
        return time.monotonic() - self.origin

    def at(self, monotonic_time: float) -> float:
        """Convert a ``time.monotonic()`` reading into timeline seconds."""
        return monotonic_time - self.origin

    def record(
        self,
        kind: EntryKind,
        type_: str,
        data: dict[str, Any] | None = None,
        *,
        t: float | None = None,
    ) -> TimelineEntry:
        entry = TimelineEntry(
            t=self.now() if t is None else t, kind=kind, type=type_, turn=self.turn, data=data or {}
        )
        self.entries.append(entry)
        if self._stream is not None:
            self._stream.write(json.dumps(entry.to_json(self.session), separators=(",", ":")) + "\n")
            self._stream.flush()
        return entry

    def mark(
        self, milestone: Milestone, data: dict[str, Any] | None = None, *, t: float | None = None
    ) -> None:
        self.record(EntryKind.MILESTONE, milestone, data, t=t)

    def __iter__(self) -> Iterator[TimelineEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def first(
        self, kind: EntryKind, type_: str, *, after: float = float("-inf"), turn: int | None = None
    ) -> TimelineEntry | None:
        """The first entry of that kind and type at or after ``after`` (optionally in one turn)."""
        for entry in self.entries:
            if (
                entry.kind == kind
                and entry.type == type_
                and entry.t >= after
                and (turn is None or entry.turn == turn)
            ):
                return entry
        return None


def read_jsonl(path: Path) -> dict[str, list[TimelineEntry]]:
    """Read a timeline.jsonl back, grouped by session name."""
    sessions: dict[str, list[TimelineEntry]] = {}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                record = json.loads(line)
                sessions.setdefault(str(record.get("session", "session")), []).append(
                    TimelineEntry.from_json(record)
                )
    return sessions
