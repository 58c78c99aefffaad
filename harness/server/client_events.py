"""Client events off the data channel, checked before any handler sees them.

A client event is a text message of at most :data:`MAX_EVENT_BYTES` holding one JSON object
(:func:`harness.server.wire.loads`: bounded depth, no NaN) with a known ``type``. Its top-level
fields must have the types the openai package's model of that event gives them (``event_id`` a
string, ``audio_end_ms`` an integer, required ones present), so a handler never meets a list
where it expects an id. The nested objects (``session``, ``response``, ``item``) are left to their
handlers, which check them against the request models with the API's codes and ``param`` paths.

The byte limit is half of what aiortc's SCTP advertises (``a=max-message-size:262144``), so the
server's echo of an accepted event (``conversation.item.added``, ``session.updated``) still fits
in one message to the peer.
"""

from __future__ import annotations

import typing
from collections.abc import Collection
from functools import cache
from typing import Any

from pydantic import TypeAdapter, ValidationError

from harness.server import wire
from harness.server.errors import ApiError, invalid_value, schema_error, shown

MAX_EVENT_BYTES = 128 * 1024
NESTED = frozenset({"type", "session", "response", "item"})  # checked by the handlers


def decode(message: str | bytes) -> dict[str, Any]:
    """The JSON object of one data-channel message, or the ``error`` to answer it with."""
    if isinstance(message, bytes):
        raise ApiError(
            "Binary messages are not supported: send each client event as a JSON text message.",
            code=wire.INVALID_JSON,
        )
    size = len(message.encode("utf-8", "surrogatepass"))
    if size > MAX_EVENT_BYTES:
        raise ApiError(
            f"The event is {size} bytes; the stand-in accepts client events up to {MAX_EVENT_BYTES} bytes.",
            code="invalid_value",
        )
    event = wire.loads(message, "The event")
    if not isinstance(event, dict):
        raise ApiError("Invalid event: expected a JSON object.", code=wire.INVALID_JSON)
    return event


def event_id(event: dict[str, Any]) -> str | None:
    """The client's ``event_id`` when it is a string (an ``error`` names it)."""
    value = event.get("event_id")
    return value if isinstance(value, str) else None


def check(event: dict[str, Any], supported: Collection[str]) -> str:
    """The event's ``type`` after checking it is one of ``supported`` and the top-level fields have
    the types of the event's openai model; raises the API's error otherwise."""
    type_ = event.get("type")
    if type_ is None:
        raise ApiError("Missing required parameter: 'type'.", code="missing_required_parameter", param="type")
    if not isinstance(type_, str) or type_ not in supported:
        names = ", ".join(f"'{name}'" for name in supported)
        raise invalid_value("type", f"Invalid value: {shown(type_)}. Supported values are: {names}.")
    for name, (adapter, required) in _fields(type_).items():
        if name not in event:
            if required:
                raise ApiError(
                    f"Missing required parameter: '{name}'.", code="missing_required_parameter", param=name
                )
            continue
        try:
            adapter.validate_python(event[name], strict=True)
        except ValidationError as exc:
            raise schema_error(exc, name) from None
    return type_


@cache
def _fields(type_: str) -> dict[str, tuple[TypeAdapter[Any], bool]]:
    """Top-level fields of the client event ``type_`` (outside :data:`NESTED`): adapter, required."""
    model = _models().get(type_)
    fields = model.model_fields.items() if model is not None else ()
    return {
        name: (TypeAdapter(field.annotation), field.is_required())
        for name, field in fields
        if name not in NESTED
    }


@cache
def _models() -> dict[str, Any]:
    """Each client event type's openai model, from the ``RealtimeClientEvent`` union."""
    from openai.types.realtime import RealtimeClientEvent

    union = typing.get_args(RealtimeClientEvent)[0]  # Annotated[Union[...], discriminator]
    models: dict[str, Any] = {}
    for model in typing.get_args(union):
        (type_,) = typing.get_args(model.model_fields["type"].annotation)
        models[type_] = model
    return models
