"""Hypothesis strategies of bad data-channel messages for the stand-in.

Every message :func:`bad_messages` draws is invalid by construction (binary, not JSON, not an
object, an unknown or missing ``type``, a top-level field of the wrong JSON type or missing, a bad
object inside, nested too deep, NaN, too large), each with the ``event_id`` the ``error`` event
must name. The field table is the API reference's, not the server's code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from tests.support.fuzz import json_values, nested, printable

MAX_EVENT_BYTES = 128 * 1024  # what docs/standin.md promises for one client event

CLIENT_EVENT_FIELDS: dict[str, dict[str, tuple[str, bool]]] = {
    # type -> field -> (JSON type, required): from the API reference, not from the server's code.
    "session.update": {"session": ("object", True)},
    "input_audio_buffer.append": {"audio": ("string", True)},
    "input_audio_buffer.commit": {},
    "input_audio_buffer.clear": {},
    "output_audio_buffer.clear": {},
    "response.create": {"response": ("object", False)},
    "response.cancel": {"response_id": ("string", False)},
    "conversation.item.create": {"item": ("object", True), "previous_item_id": ("string", False)},
    "conversation.item.retrieve": {"item_id": ("string", True)},
    "conversation.item.delete": {"item_id": ("string", True)},
    "conversation.item.truncate": {
        "item_id": ("string", True),
        "content_index": ("integer", True),
        "audio_end_ms": ("integer", True),
    },
}
_NOT = {
    "string": st.integers()
    | st.booleans()
    | st.lists(st.text(max_size=5), max_size=2)
    | st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    "integer": st.text(max_size=8)
    | st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not f.is_integer())
    | st.booleans()
    | st.lists(st.integers(), max_size=2),
    "object": st.text(max_size=8) | st.integers() | st.booleans() | st.lists(st.integers(), max_size=2),
}
_FINE = {"string": "item_nowhere", "integer": 0, "object": {}}


@dataclass(frozen=True)
class Bad:
    """A message the server must answer with one ``error`` event naming ``event_id``."""

    message: str | bytes
    event_id: str | None


event_ids = st.none() | st.text(printable, min_size=1, max_size=12).map(lambda s: f"evt_{s}")


def _with_id(event: dict[str, Any], event_id: str | None) -> Bad:
    if event_id is not None:
        event = {**event, "event_id": event_id}
    return Bad(json.dumps(event), event_id)


@st.composite
def wrong_field(draw: st.DrawFn) -> Bad:
    """A known event with one top-level field of the wrong JSON type, or a required one missing."""
    type_ = draw(st.sampled_from([t for t, fields in CLIENT_EVENT_FIELDS.items() if fields]))
    fields = CLIENT_EVENT_FIELDS[type_]
    event: dict[str, Any] = {"type": type_, **{name: _FINE[kind] for name, (kind, _) in fields.items()}}
    name = draw(st.sampled_from(sorted(fields)))
    kind, required = fields[name]
    if required and draw(st.booleans()):
        del event[name]
    else:
        event[name] = draw(_NOT[kind])
    return _with_id(event, draw(event_ids))


@st.composite
def wrong_nested(draw: st.DrawFn) -> Bad:
    """session.update / response.create / conversation.item.create with a bad object inside."""
    junk = st.dictionaries(
        st.text(printable, min_size=1, max_size=8).map(lambda k: f"x_{k}"),
        json_values,
        min_size=1,
        max_size=3,
    )
    event = draw(
        st.one_of(
            junk.map(lambda extra: {"type": "session.update", "session": {"type": "realtime", **extra}}),
            json_values.filter(lambda v: v != "realtime").map(
                lambda t: {"type": "session.update", "session": {"type": t}}
            ),
            junk.map(lambda extra: {"type": "response.create", "response": extra}),
            st.dictionaries(st.sampled_from(["type", "role", "content", "id"]), json_values).map(
                lambda item: {
                    "type": "conversation.item.create",
                    "item": {**item, "type": "x_" + str(item.get("type"))},
                }
            ),
        )
    )
    return _with_id(event, draw(event_ids))


def _not_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return True
    return False


def _huge(size: int) -> Bad:
    """A clear event padded to ``size`` bytes: fine but for its size."""
    head, tail = '{"type": "input_audio_buffer.clear", "pad": "', '"}'
    return Bad(head + "x" * (size - len(head) - len(tail)) + tail, None)


def bad_messages() -> st.SearchStrategy[Bad]:
    not_object = json_values.filter(lambda v: not isinstance(v, dict)).map(lambda v: Bad(json.dumps(v), None))
    bad_type = st.builds(
        _with_id,
        st.dictionaries(
            st.text(max_size=8).filter(lambda k: k not in ("type", "event_id")), json_values, max_size=3
        ).flatmap(
            lambda base: (
                (
                    st.text(max_size=30).filter(lambda t: t not in CLIENT_EVENT_FIELDS)
                    | json_values.filter(lambda v: not isinstance(v, str))
                ).map(lambda type_: {**base, "type": type_})
                | st.just(base)
            )
        ),
        event_ids,
    )
    return st.one_of(
        st.binary(max_size=200).map(lambda data: Bad(data, None)),
        st.text(max_size=100).filter(_not_json).map(lambda text: Bad(text, None)),
        not_object,
        bad_type,
        wrong_field(),
        wrong_nested(),
        st.integers(65, 5000).map(
            lambda depth: Bad(f'{{"type": "session.update", "session": {nested(depth, "{")}}}', None)
        ),
        st.sampled_from(["NaN", "Infinity", "1e999"]).map(
            lambda constant: Bad(f'{{"type": "response.create", "response": {{"x": {constant}}}}}', None)
        ),
        st.integers(MAX_EVENT_BYTES + 1, MAX_EVENT_BYTES + 60_000).map(_huge),
    )
