"""Settings of one stand-in server instance (``rth serve`` flags map onto these fields)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

DEFAULT_INSTRUCTIONS = (
    "You are the realtime-harness stand-in. You repeat what you heard, so tests can check the round trip."
)


class ResponsePacing(StrEnum):
    """When a response counts as generated, relative to the playback of its audio.

    ``follow_playback`` (the only mode so far): transcript deltas and the ``*.done`` events follow
    the audio as it plays, so a response stays active (cancellable) until its audio has played out.
    A generate-ahead mode (``response.done`` before playback ends, as the live API does) slots in as
    a second value: see :mod:`harness.server.response`.
    """

    FOLLOW_PLAYBACK = "follow_playback"


@dataclass(frozen=True)
class ServerConfig:
    """One stand-in server.

    ``port=0`` picks a free port (read it back from ``StandInServer.base_url``). ``api_key=None``
    accepts any non-empty Bearer key as a standard key; ``ek_`` keys must always be minted here.
    ``clock`` is the wall clock (Unix seconds) for key expiry and ``created_at`` stamps; tests may
    pass a controllable one.
    """

    host: str = "127.0.0.1"
    port: int = 8089
    api_key: str | None = None
    model: str = "gpt-realtime"
    voice: str = "cedar"
    instructions: str = DEFAULT_INSTRUCTIONS
    transcription_model: str = "gpt-4o-mini-transcribe"
    no_speech_reply: str = "Sorry, I did not hear anything."
    pacing: ResponsePacing = ResponsePacing.FOLLOW_PLAYBACK
    asr_workers: int = 2
    tts_cache_size: int = 64
    flite_path: str = "flite"
    max_call_seconds: float = 30 * 60
    max_input_buffer_seconds: float = 5 * 60
    clock: Callable[[], float] = field(default=time.time, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be 0..65535, got {self.port}")
        if self.asr_workers < 1:
            raise ValueError(f"asr_workers must be at least 1, got {self.asr_workers}")
        if self.api_key is not None and not self.api_key.strip():
            raise ValueError("api_key must be None (accept any key) or a non-empty string")
