"""Server event names and patterns (``{event: error, match: {error.code: ...}}``) used by
``wait_for``, ``barge_in`` and the ``events_seen``/``events_not_seen`` expectations.

Event names are checked against the installed ``openai`` package's server-event union (the
schema authority, as for the stand-in): a misspelt ``wait_for`` would otherwise only show up as a
15 s timeout in the middle of a run.
"""

from __future__ import annotations

import difflib
import typing
from collections.abc import Mapping
from functools import cache
from typing import Any, ClassVar

from pydantic import Field, field_validator

from harness.scenario._base import Shorthand


@cache
def server_event_types() -> frozenset[str]:
    """Every ``type`` of the openai package's ``RealtimeServerEvent`` union."""
    from openai.types.realtime import RealtimeServerEvent

    names: set[str] = set()
    for member in typing.get_args(typing.get_args(RealtimeServerEvent)[0]) or ():
        field = getattr(member, "model_fields", {}).get("type")
        if field is not None:
            names.update(str(value) for value in typing.get_args(field.annotation))
    return frozenset(names)


def check_server_event(name: str) -> str:
    """Return ``name`` if it is a server event type, else raise ValueError with the closest names."""
    known = server_event_types()
    if not known or name in known:
        return name
    close = difflib.get_close_matches(name, sorted(known), n=2)
    hint = f"did you mean {' or '.join(close)}?" if close else "see the server events of the Realtime API"
    raise ValueError(f"'{name}' is not a Realtime server event type; {hint}")


def lookup(event: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path (``response.status``, ``error.code``); a missing key gives None."""
    value: Any = event
    for part in path.split("."):
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


class EventPattern(Shorthand):
    """A server event type, optionally narrowed by field values (dotted paths, compared with ==)."""

    SHORT_FIELD: ClassVar[str] = "event"
    SHORT_SCHEMA: ClassVar[dict[str, Any]] = {
        "type": "string",
        "description": "a server event type, e.g. response.done",
    }

    event: str = Field(description="Server event type, e.g. response.done")
    match: dict[str, Any] = Field(
        default_factory=dict,
        description="Dotted field path -> required value, e.g. {response.status: cancelled}",
    )

    @field_validator("event")
    @classmethod
    def _known_event(cls, value: str) -> str:
        return check_server_event(value)

    def matches(self, event: Mapping[str, Any]) -> bool:
        return event.get("type") == self.event and all(
            lookup(event, path) == wanted for path, wanted in self.match.items()
        )

    def describe(self) -> str:
        if not self.match:
            return self.event
        fields = ", ".join(f"{path}={value}" for path, value in self.match.items())
        return f"{self.event}[{fields}]"
