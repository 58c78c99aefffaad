"""Builders of server events and the objects inside them (items, responses, usage, rate limits).

Pure functions: every dict here must validate with ``harness.protocol.parse_server_event`` once
wrapped in its event, and fills the fields the ``openai.types.realtime`` models define.

Token usage is an estimate (there is no model): audio counts as the live API bills it, user audio
1 token per 100 ms and assistant audio 1 token per 50 ms; text counts 1 token per 4 characters.
"""

from __future__ import annotations

import math
from typing import Any

from harness.protocol import ServerEventType
from harness.server.errors import ApiError
from harness.server.ids import new_id

INPUT_AUDIO_TOKENS_PER_S = 10
OUTPUT_AUDIO_TOKENS_PER_S = 20
CHARS_PER_TEXT_TOKEN = 4
RATE_LIMITS: list[dict[str, Any]] = [
    {"name": "requests", "limit": 5000, "remaining": 4999, "reset_seconds": 0.012},
    {"name": "tokens", "limit": 40000, "remaining": 39000, "reset_seconds": 1.5},
]


def event(type_: str, **fields: Any) -> dict[str, Any]:
    """A server event: ``type`` and a fresh ``event_id`` first, then the payload."""
    return {"type": type_, "event_id": new_id("event"), **fields}


def error_event(error: ApiError, client_event_id: str | None) -> dict[str, Any]:
    """The ``error`` event; ``error.event_id`` names the client event at fault (or null)."""
    return event(ServerEventType.ERROR, error={**error.error_object(), "event_id": client_event_id})


def text_tokens(text: str | None) -> int:
    return math.ceil(len(text or "") / CHARS_PER_TEXT_TOKEN)


def audio_tokens(seconds: float, per_second: int) -> int:
    return math.ceil(seconds * per_second)


def user_audio_item(item_id: str, transcript: str | None) -> dict[str, Any]:
    """A committed user turn: one ``input_audio`` part (transcript null until transcribed)."""
    return {
        "id": item_id,
        "type": "message",
        "object": "realtime.item",
        "status": "completed",
        "role": "user",
        "content": [{"type": "input_audio", "transcript": transcript}],
    }


def assistant_item(item_id: str, status: str, content: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "message",
        "object": "realtime.item",
        "status": status,
        "role": "assistant",
        "content": content,
    }


def transcription_usage(audio_seconds: float, transcript: str) -> dict[str, Any]:
    """Usage of an input transcription (the ``tokens`` form gpt-4o-*-transcribe report)."""
    audio = audio_tokens(audio_seconds, INPUT_AUDIO_TOKENS_PER_S)
    output = text_tokens(transcript)
    return {
        "type": "tokens",
        "input_tokens": audio,
        "output_tokens": output,
        "total_tokens": audio + output,
        "input_token_details": {"audio_tokens": audio, "text_tokens": 0},
    }


def response_usage(
    *, input_text: int, input_audio: int, output_text: int, output_audio: int
) -> dict[str, Any]:
    input_tokens = input_text + input_audio
    output_tokens = output_text + output_audio
    return {
        "total_tokens": input_tokens + output_tokens,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "input_token_details": {
            "text_tokens": input_text,
            "audio_tokens": input_audio,
            "image_tokens": 0,
            "cached_tokens": 0,
            "cached_tokens_details": {"text_tokens": 0, "audio_tokens": 0, "image_tokens": 0},
        },
        "output_token_details": {"text_tokens": output_text, "audio_tokens": output_audio},
    }


def response_object(
    *,
    response_id: str,
    conversation_id: str | None,
    status: str,
    status_details: dict[str, Any] | None,
    output: list[dict[str, Any]],
    modalities: list[str],
    voice: str,
    output_format: dict[str, Any],
    max_output_tokens: int | str,
    metadata: dict[str, str] | None,
    usage: dict[str, Any] | None,
) -> dict[str, Any]:
    """The ``realtime.response`` object of ``response.created``/``response.done``."""
    return {
        "object": "realtime.response",
        "id": response_id,
        "status": status,
        "status_details": status_details,
        "output": output,
        "conversation_id": conversation_id,
        "output_modalities": modalities,
        "max_output_tokens": max_output_tokens,
        "audio": {"output": {"format": output_format, "voice": voice}},
        "usage": usage,
        "metadata": metadata,
    }


def cancelled_details(reason: str) -> dict[str, Any]:
    return {"type": "cancelled", "reason": reason}


def new_item_id() -> str:
    return new_id("item")
