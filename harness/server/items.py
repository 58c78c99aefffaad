"""The conversation's items: ordered storage and the four ``conversation.item.*`` client events.

Items are kept as the JSON the client sees (``conversation.item.added``/``.retrieved``), each with
its audio length (for usage and truncation limits) and a future holding its text once known (a
user audio item's transcript arrives after recognition; the reply waits for it). Error messages
follow the ones real clients see from the API.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from harness.protocol import ServerEventType
from harness.server import events
from harness.server.errors import ApiError, invalid_value, schema_error

E = ServerEventType
ROOT = "root"


@dataclass
class ItemRecord:
    """A conversation item, its audio length and its text (a future: transcripts come late).

    ``unrecognised_speech`` is set when load mode did not recognise a committed turn (nothing
    needed its words): whether the turn held speech, which is all its reply depends on.
    """

    item: dict[str, Any]
    audio_ms: float = 0.0
    text: asyncio.Future[str] | None = None
    unrecognised_speech: bool | None = None

    @property
    def id(self) -> str:
        return str(self.item["id"])

    @property
    def role(self) -> str | None:
        role = self.item.get("role")
        return str(role) if role is not None else None


def item_text(item: dict[str, Any]) -> str:
    """The words of a message item's content parts (text, or a transcript when known)."""
    parts = item.get("content") or []
    return " ".join(str(p.get("text") or p.get("transcript") or "") for p in parts).strip()


@functools.cache
def item_adapter() -> TypeAdapter[Any]:
    """The openai ``ConversationItem`` validator, built once (a few ms each time otherwise)."""
    from openai.types.realtime import ConversationItem

    return TypeAdapter(ConversationItem)


def done_future(text: str) -> asyncio.Future[str]:
    future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    future.set_result(text)
    return future


class ItemStore:
    """Items in conversation order, addressable by id."""

    def __init__(self) -> None:
        self._order: list[str] = []
        self._records: dict[str, ItemRecord] = {}

    def __contains__(self, item_id: object) -> bool:
        return isinstance(item_id, str) and item_id in self._records  # a client's id may be a list

    def records(self) -> list[ItemRecord]:
        return [self._records[i] for i in self._order]

    @property
    def last_id(self) -> str | None:
        return self._order[-1] if self._order else None

    def add(self, record: ItemRecord, after: str | None = None) -> str | None:
        """Insert ``record`` after item ``after`` (end if None, first if ``root``).

        Returns the id of the item now before it."""
        if after is None:
            index = len(self._order)
        elif after == ROOT:
            index = 0
        else:
            index = self._order.index(after) + 1
        self._order.insert(index, record.id)
        self._records[record.id] = record
        return self._order[index - 1] if index > 0 else None

    def get(self, item_id: Any) -> ItemRecord:
        record = self._records.get(item_id) if isinstance(item_id, str) else None
        if record is None:
            raise invalid_value("item_id", f"Item with item_id '{item_id}' not found.")
        return record

    def remove(self, item_id: str) -> None:
        self._order.remove(item_id)
        del self._records[item_id]


class ItemEvents:
    """Handlers of ``conversation.item.create/retrieve/delete/truncate`` over one store."""

    def __init__(self, store: ItemStore, emit: Callable[..., None]) -> None:
        self.store = store
        self._emit = emit

    def create(self, event: dict[str, Any]) -> None:
        item = event.get("item")
        try:
            item_adapter().validate_python(item)
        except ValidationError as exc:
            raise schema_error(exc, "item") from None
        assert isinstance(item, dict)
        after = event.get("previous_item_id")
        if after is not None and after != ROOT and after not in self.store:
            raise invalid_value(
                "previous_item_id",
                f"Error adding item: the previous item with id '{after}' does not exist.",
            )
        item = {**item, "id": item.get("id") or events.new_item_id(), "object": "realtime.item"}
        item.setdefault("status", "completed")
        if item["id"] in self.store:
            raise invalid_value("item.id", f"Error adding item: item with id '{item['id']}' already exists.")
        record = ItemRecord(item, text=done_future(item_text(item)))
        previous = self.store.add(record, after)
        self._emit(E.CONVERSATION_ITEM_ADDED, previous_item_id=previous, item=item)
        self._emit(E.CONVERSATION_ITEM_DONE, previous_item_id=previous, item=item)

    def retrieve(self, event: dict[str, Any]) -> None:
        self._emit(E.CONVERSATION_ITEM_RETRIEVED, item=self.store.get(event.get("item_id")).item)

    def delete(self, event: dict[str, Any]) -> None:
        record = self.store.get(event.get("item_id"))
        self.store.remove(record.id)
        self._emit(E.CONVERSATION_ITEM_DELETED, item_id=record.id)

    def truncate(self, event: dict[str, Any]) -> None:
        """Cut an assistant item's audio (and drop its transcript, as the API documents).

        Past the audio's end the API answers an error and, as observed in a public trace, then
        truncates at the real end anyway; the stand-in does the same.
        """
        record = self.store.get(event.get("item_id"))
        content = record.item.get("content") or []
        if record.role != "assistant" or not any(p.get("type") == "output_audio" for p in content):
            raise invalid_value("item_id", "Only model output audio messages can be truncated")
        content_index = event.get("content_index", 0)
        if content_index != 0:
            raise invalid_value("content_index", f"Invalid content_index: {content_index}.")
        audio_end_ms = event.get("audio_end_ms")
        if isinstance(audio_end_ms, bool) or not isinstance(audio_end_ms, int) or audio_end_ms < 0:
            raise invalid_value("audio_end_ms", "Invalid 'audio_end_ms': expected a non-negative integer.")
        length = int(record.audio_ms)
        if audio_end_ms > length:
            self._emit_error(
                invalid_value(
                    "audio_end_ms", f"Audio content of {length}ms is already shorter than {audio_end_ms}ms"
                ),
                event,
            )
            audio_end_ms = length
        self.apply_truncation(record, audio_end_ms)

    def apply_truncation(self, record: ItemRecord, audio_end_ms: int) -> None:
        record.audio_ms = min(record.audio_ms, audio_end_ms)
        for part in record.item.get("content") or []:
            if part.get("type") == "output_audio":
                part["transcript"] = ""
        self._emit(
            E.CONVERSATION_ITEM_TRUNCATED, item_id=record.id, content_index=0, audio_end_ms=audio_end_ms
        )

    def _emit_error(self, error: ApiError, event: dict[str, Any]) -> None:
        event_id = event.get("event_id") if isinstance(event.get("event_id"), str) else None
        self._emit(E.ERROR, error={**error.error_object(), "event_id": event_id})
