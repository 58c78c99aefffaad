"""The session object: defaults, validation of client updates, and the deep merge of ``session.update``.

The session is kept as the JSON dict clients see in ``session.created``/``session.updated`` (the
``RealtimeSessionCreateResponse`` shape), so echoing the full config is a copy, not a translation.
Validation uses the installed ``openai`` package's request model, the same schema real clients are
written against.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import ValidationError

from harness.server.config import ServerConfig, TurnDetectionDefault
from harness.server.errors import ApiError, invalid_value, schema_error
from harness.server.ids import new_id

VOICES = ("alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar")
SESSION_SECONDS = 30 * 60
_READ_ONLY = ("object", "id", "expires_at")
_PCM = {"type": "audio/pcm", "rate": 24000}


def default_turn_detection(kind: TurnDetectionDefault) -> dict[str, Any] | None:
    """The API's defaults for a session's ``turn_detection`` (server_vad unless configured)."""
    if kind is TurnDetectionDefault.SERVER_VAD:
        return {
            "type": "server_vad",
            "threshold": 0.5,
            "prefix_padding_ms": 300,
            "silence_duration_ms": 500,
            "idle_timeout_ms": None,
            "create_response": True,
            "interrupt_response": True,
        }
    if kind is TurnDetectionDefault.SEMANTIC_VAD:
        return {
            "type": "semantic_vad",
            "eagerness": "auto",
            "create_response": True,
            "interrupt_response": True,
        }
    return None


def default_session(config: ServerConfig, *, now: float) -> dict[str, Any]:
    """A fresh session as ``session.created`` shows it (``server_vad`` turns, as the live API).

    Input transcription is on by default (the stand-in always transcribes to build its reply; this
    decides whether the transcription events are sent).
    """
    return {
        "type": "realtime",
        "object": "realtime.session",
        "id": new_id("sess"),
        "model": config.model,
        "output_modalities": ["audio"],
        "instructions": config.instructions,
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "truncation": "auto",
        "prompt": None,
        "expires_at": int(now) + SESSION_SECONDS,
        "include": None,
        "audio": {
            "input": {
                "format": dict(_PCM),
                "transcription": {"model": config.transcription_model, "language": None, "prompt": None},
                "noise_reduction": None,
                "turn_detection": default_turn_detection(config.turn_detection),
            },
            "output": {"format": dict(_PCM), "voice": config.voice, "speed": 1.0},
        },
    }


def validate_update(update: Any, *, param: str = "session") -> dict[str, Any]:
    """Check a client's session fragment (``session.update``, a call's ``session`` part, a client secret).

    Raises :class:`ApiError` shaped like the API's (``missing_required_parameter``,
    ``unknown_parameter``, ``invalid_value``).
    """
    from openai.types.realtime import RealtimeSessionCreateRequest

    if not isinstance(update, dict):
        raise invalid_value(param, f"Invalid type for '{param}': expected an object.")
    if "type" not in update:
        raise ApiError(
            f"Missing required parameter: '{param}.type'.",
            code="missing_required_parameter",
            param=f"{param}.type",
        )
    if update["type"] != "realtime":
        raise invalid_value(
            f"{param}.type",
            f"Invalid value: '{update['type']}'. The stand-in supports only 'realtime' sessions.",
        )
    known = set(RealtimeSessionCreateRequest.model_fields) | set(_READ_ONLY)
    for key in update:
        if key not in known:
            raise ApiError(
                f"Unknown parameter: '{param}.{key}'.", code="unknown_parameter", param=f"{param}.{key}"
            )
    try:
        RealtimeSessionCreateRequest.model_validate(update)
    except ValidationError as exc:
        raise schema_error(exc, param) from None
    _check_semantics(update, param)
    return {k: v for k, v in update.items() if k not in _READ_ONLY}


def _check_semantics(update: dict[str, Any], param: str) -> None:
    """The rules the pydantic model does not encode (voice names, one modality, speed range)."""
    modalities = update.get("output_modalities")
    if modalities is not None:
        check_modalities(modalities, param)
    output = (update.get("audio") or {}).get("output") or {}
    check_voice(output.get("voice"), param)
    speed = output.get("speed")
    if speed is not None and not 0.25 <= float(speed) <= 1.5:
        raise invalid_value(
            f"{param}.audio.output.speed", f"Invalid value for 'speed': {speed} (expected 0.25 to 1.5)."
        )


def check_modalities(modalities: Any, param: str) -> None:
    """``output_modalities`` is exactly one of audio or text (``param``: the object holding it)."""
    if sorted(modalities) not in (["audio"], ["text"]):
        raise invalid_value(
            f"{param}.output_modalities",
            "Invalid value for 'output_modalities': use either ['audio'] or ['text'], not both.",
        )


def check_voice(voice: Any, param: str) -> None:
    """A voice given by name is one the API knows (a custom voice object passes)."""
    if isinstance(voice, str) and voice not in VOICES:
        supported = ", ".join(f"'{v}'" for v in VOICES)
        raise invalid_value(
            f"{param}.audio.output.voice", f"Invalid value: '{voice}'. Supported values are: {supported}."
        )


def merge(current: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge a validated fragment into a session (a new dict; ``current`` is untouched).

    Objects merge key by key; an object with a different ``type`` (e.g. ``server_vad`` ->
    ``semantic_vad``, ``audio/pcm`` -> ``audio/pcmu``), lists, scalars and explicit nulls replace.
    """
    merged = copy.deepcopy(current)
    for key, value in update.items():
        old = merged.get(key)
        if (
            isinstance(value, dict)
            and isinstance(old, dict)
            and value.get("type", old.get("type")) == old.get("type")
        ):
            merged[key] = merge(old, value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def voice_of(session: dict[str, Any]) -> str:
    """The output voice name; a custom voice object (``{"id": ...}``) yields its id."""
    voice = ((session.get("audio") or {}).get("output") or {}).get("voice")
    if isinstance(voice, dict):
        return str(voice.get("id", ""))
    return str(voice or "")


def speed_of(session: dict[str, Any]) -> float:
    speed = ((session.get("audio") or {}).get("output") or {}).get("speed")
    return float(speed) if speed is not None else 1.0


def transcription_enabled(session: dict[str, Any]) -> bool:
    """Whether the client asked for input transcription events (``audio.input.transcription`` set)."""
    return bool(((session.get("audio") or {}).get("input") or {}).get("transcription"))
