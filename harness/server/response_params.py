"""``response.create`` parameters: checked like the API checks them, resolved against the session.

Per-response overrides (``instructions``, ``output_modalities``, ``audio.output.voice``/``format``,
``metadata``, ``conversation: "none"``, ``input``, ``max_output_tokens``) change this response only.
The checks the openai package's request model cannot express (one modality, known voice names,
metadata limits) are done here with the API's error codes and ``param`` paths.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from harness.server import session
from harness.server.errors import ApiError, invalid_value, schema_error
from harness.server.items import ItemStore, item_adapter
from harness.server.response import ResponseOptions

MAX_METADATA_KEYS = 16
MAX_METADATA_KEY = 64
MAX_METADATA_VALUE = 512


def resolve_options(params: Any, current: dict[str, Any], items: ItemStore) -> ResponseOptions:
    """The options of one response; raises :class:`ApiError` for what the API would refuse."""
    from openai.types.realtime import RealtimeResponseCreateParams

    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise invalid_value("response", "Invalid type for 'response': expected an object.")
    for key in params:
        if key not in RealtimeResponseCreateParams.model_fields:
            raise ApiError(
                f"Unknown parameter: 'response.{key}'.", code="unknown_parameter", param=f"response.{key}"
            )
    checked = {k: v for k, v in params.items() if k != "input"}
    try:
        RealtimeResponseCreateParams.model_validate(checked)
    except ValidationError as exc:
        raise schema_error(exc, "response") from None

    modalities = params.get("output_modalities") or current["output_modalities"]
    session.check_modalities(modalities, "response")
    audio_out = (params.get("audio") or {}).get("output") or {}
    session.check_voice(audio_out.get("voice"), "response")
    conversation = params.get("conversation") or "auto"
    if conversation not in ("auto", "none"):
        raise invalid_value(
            "response.conversation",
            f"Invalid value: '{conversation}'. The stand-in supports 'auto' and 'none'.",
        )
    return ResponseOptions(
        modalities=list(modalities),
        voice=session.voice_of(params if audio_out.get("voice") is not None else current),
        speed=session.speed_of(current),
        output_format=audio_out.get("format") or current["audio"]["output"]["format"],
        max_output_tokens=params.get("max_output_tokens") or current["max_output_tokens"],
        metadata=_metadata(params.get("metadata")),
        in_conversation=conversation == "auto",
        instructions=params.get("instructions"),
        input_items=_input_items(params.get("input"), items),
    )


def _metadata(metadata: Any) -> dict[str, str] | None:
    if metadata is None:
        return None
    if not isinstance(metadata, dict) or len(metadata) > MAX_METADATA_KEYS:
        raise invalid_value(
            "response.metadata", f"Invalid 'metadata': at most {MAX_METADATA_KEYS} string pairs."
        )
    for key, value in metadata.items():
        if not isinstance(value, str) or len(key) > MAX_METADATA_KEY or len(value) > MAX_METADATA_VALUE:
            raise invalid_value(
                f"response.metadata.{key}",
                f"Invalid 'metadata': keys up to {MAX_METADATA_KEY} and values up to "
                f"{MAX_METADATA_VALUE} characters, values must be strings.",
            )
    return dict(metadata)


def _input_items(raw: Any, items: ItemStore) -> list[dict[str, Any]] | None:
    """``response.input``: items inline or ``item_reference``s to conversation items."""
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise invalid_value("response.input", "Invalid type for 'response.input': expected an array.")
    resolved: list[dict[str, Any]] = []
    for i, entry in enumerate(raw):
        if isinstance(entry, dict) and entry.get("type") == "item_reference":
            if entry.get("id") not in items:
                raise invalid_value(f"response.input.{i}.id", f"Item with id '{entry.get('id')}' not found.")
            resolved.append(items.get(entry["id"]).item)
            continue
        try:
            item_adapter().validate_python(entry)
        except ValidationError as exc:
            raise schema_error(exc, "response", "input", str(i)) from None
        resolved.append(entry)
    return resolved
