"""A session's timeline sorted by time and indexed by event type and id, for the latency matchers.

Built once per session so each look-up touches only entries of the wanted type: a half-hour session
holds tens of thousands of transcript deltas, and every turn asks several questions of it.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable
from typing import Any

from harness.protocol import ServerEventType
from harness.timeline import EntryKind, TimelineEntry

Where = Callable[[TimelineEntry], bool]


def text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def response_id_of(entry: TimelineEntry) -> str | None:
    """``response.id`` of response.created/done; ``response_id`` of every other response event."""
    response = entry.data.get("response")
    if isinstance(response, dict):
        return text(response.get("id"))
    return text(entry.data.get("response_id"))


class TimelineIndex:
    """Entries in time order (a stable sort: equal times keep their recording order)."""

    def __init__(self, entries: Iterable[TimelineEntry]) -> None:
        self.entries = sorted(entries, key=lambda entry: entry.t)
        self._by_type: dict[tuple[EntryKind, str], list[int]] = {}
        self._by_response: dict[tuple[str, str], int] = {}
        self._by_item: dict[tuple[str, str], int] = {}
        self._error_event_ids: set[str] = set()
        self._turn_first: dict[int, int] = {}
        for index, entry in enumerate(self.entries):
            if entry.turn is not None:
                self._turn_first.setdefault(entry.turn, index)
            self._by_type.setdefault((entry.kind, entry.type), []).append(index)
            if entry.kind != EntryKind.RECEIVED:
                continue
            response_id = response_id_of(entry)
            if response_id is not None:
                self._by_response.setdefault((entry.type, response_id), index)
            item_id = text(entry.data.get("item_id"))
            if item_id is not None:
                self._by_item.setdefault((entry.type, item_id), index)
            error = entry.data.get("error")
            if (
                entry.type == ServerEventType.ERROR
                and isinstance(error, dict)
                and isinstance(error.get("event_id"), str)
            ):
                self._error_event_ids.add(error["event_id"])

    def _positions(self, kind: EntryKind, types: tuple[str, ...]) -> list[int]:
        if len(types) == 1:
            return self._by_type.get((kind, types[0]), [])
        return sorted(i for type_ in types for i in self._by_type.get((kind, type_), []))

    def first(
        self,
        kind: EntryKind,
        *types: str,
        start: int = 0,
        stop: int | None = None,
        where: Where | None = None,
    ) -> int | None:
        """Index of the first entry of that kind and type in ``[start, stop)`` satisfying ``where``."""
        positions = self._positions(kind, types)
        for index in positions[bisect_left(positions, start) :]:
            if stop is not None and index >= stop:
                return None
            if where is None or where(self.entries[index]):
                return index
        return None

    def last(
        self,
        kind: EntryKind,
        *types: str,
        start: int = 0,
        stop: int | None = None,
        where: Where | None = None,
    ) -> int | None:
        """Index of the last entry of that kind and type in ``[start, stop)`` satisfying ``where``."""
        positions = self._positions(kind, types)
        high = len(positions) if stop is None else bisect_left(positions, stop)
        for index in reversed(positions[bisect_left(positions, start) : high]):
            if where is None or where(self.entries[index]):
                return index
        return None

    def with_response(self, response_id: str | None, *types: str) -> int | None:
        """First received event of those types carrying that response id, anywhere in the session."""
        if response_id is None:
            return None
        found = [self._by_response.get((type_, response_id)) for type_ in types]
        return min((index for index in found if index is not None), default=None)

    def with_item(self, item_id: str | None, type_: str) -> int | None:
        """First received event of that type carrying that item id, anywhere in the session."""
        return None if item_id is None else self._by_item.get((type_, item_id))

    def rejected(self, entry: TimelineEntry) -> bool:
        """True when a received ``error`` names this client event's ``event_id``."""
        event_id = text(entry.data.get("event_id"))
        return event_id is not None and event_id in self._error_event_ids

    def t(self, index: int | None) -> float | None:
        return None if index is None else self.entries[index].t

    def turns(self) -> list[int]:
        return sorted(self._turn_first)

    def turn_span(self, turn: int) -> tuple[int, int | None]:
        """``[start, stop)``: from the turn's first entry to the first entry of a later turn."""
        start = self._turn_first.get(turn, len(self.entries))
        later = [first for number, first in self._turn_first.items() if number > turn and first > start]
        return start, min(later, default=None)
