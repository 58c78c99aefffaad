"""Settings of one stand-in server instance (``rth serve`` flags map onto these fields)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from harness.errors import UsageError
from harness.protocol import DEFAULT_MODEL
from harness.protocol.faults import Fault
from harness.server.persona import Persona

DEFAULT_INSTRUCTIONS = (
    "You are the realtime-harness stand-in. You repeat what you heard, so tests can check the round trip."
)


class ResponsePacing(StrEnum):
    """When a response counts as generated, relative to the playback of its audio.

    ``ahead`` (default, as the live API): the reply is generated ``generation_speed`` times faster
    than it plays, so ``response.done`` arrives while the audio still plays, ``response.cancel``
    during playback usually answers ``response_cancel_not_active`` and only
    ``output_audio_buffer.clear`` stops the sound. ``realtime``: generation follows playback, so a
    response stays active (cancellable) until its audio has played out (simpler to reason about).
    """

    GENERATE_AHEAD = "ahead"
    FOLLOW_PLAYBACK = "realtime"


class TurnDetectionDefault(StrEnum):
    """The ``turn_detection`` a new session starts with (the live API starts with ``server_vad``)."""

    SERVER_VAD = "server_vad"
    SEMANTIC_VAD = "semantic_vad"
    NONE = "none"


@dataclass(frozen=True)
class ServerConfig:
    """One stand-in server.

    ``port=0`` picks a free port (read it back from ``StandInServer.base_url``). ``api_key=None``
    accepts any non-empty Bearer key as a standard key; ``ek_`` keys must always be minted here.
    ``clock`` is the wall clock (Unix seconds) for key expiry and ``created_at`` stamps; tests may
    pass a controllable one.

    Injected timing (for calibrating latency measurements against a known truth): the first audio
    sample of a response leaves ``first_audio_delay_ms`` after ``response.created`` (or as soon as
    recognition and synthesis allow, if later); input transcription events are held until
    ``transcription_delay_ms`` after the commit. Each delay gets a uniform ``0..jitter_ms`` added,
    drawn from a generator seeded with ``seed`` (one stream per call, in call order).
    ``persona`` is the default reply rules (a YAML file, see :mod:`harness.server.persona`, or an
    already parsed :class:`Persona`); a call may bring its own (``X-Rth-Persona``, see
    :mod:`harness.protocol.standin`).

    ``load`` (``rth serve --load``): the cheap mode for load tests, same events, order and timing
    (docs/standin.md, "Load mode"): each distinct reply is rendered and Opus-encoded once and
    sent as packets, and nothing is decoded or recognised that no VAD, transcription or persona
    needs. ``workers`` > 1 runs that many server processes on one port (:func:`serve` only; see
    :mod:`harness.server.workers`).

    ``faults`` (``rth serve --faults FILE.yaml``): what every call gets injected (HTTP errors,
    event and RTP faults; docs/reliability.md), before the faults a call brings itself.

    ``timing_log_path`` (``rth serve --timing-log FILE``): each complete timing record is also
    appended there as a JSON line (:func:`harness.server.timing.read_timing_log`), for a runner
    in another process.
    """

    host: str = "127.0.0.1"
    port: int = 8089
    api_key: str | None = field(default=None, repr=False)  # never in a logged repr
    model: str = DEFAULT_MODEL
    voice: str = "cedar"
    instructions: str = DEFAULT_INSTRUCTIONS
    transcription_model: str = "gpt-4o-mini-transcribe"
    no_speech_reply: str = "Sorry, I did not hear anything."
    turn_detection: TurnDetectionDefault = TurnDetectionDefault.SERVER_VAD
    pacing: ResponsePacing = ResponsePacing.GENERATE_AHEAD
    generation_speed: float = 3.0
    persona: Path | Persona | None = None
    first_audio_delay_ms: float = 0.0
    transcription_delay_ms: float = 0.0
    jitter_ms: float = 0.0
    seed: int = 0
    asr_workers: int = 2
    tts_cache_size: int = 64
    transcript_cache_size: int = 256  # load mode: distinct committed clips whose transcript is kept
    flite_path: str = "flite"
    max_call_seconds: float = 30 * 60
    max_input_buffer_seconds: float = 5 * 60
    load: bool = False
    workers: int = 1
    timing_log_path: Path | None = None
    faults: tuple[Fault, ...] = ()
    clock: Callable[[], float] = field(default=time.time, repr=False, compare=False)

    def describe(self) -> str:
        """The settings a client cannot see in a session, in the words of ``rth serve``'s flags
        (printed at start, so a user knows what is serving them)."""
        pace = f"--pace {self.pacing}"
        if self.pacing is ResponsePacing.GENERATE_AHEAD:
            pace += f" --generation-speed {self.generation_speed:g}"
        return (
            f"rth stand-in settings: {pace} --turn-detection {self.turn_detection} --voice {self.voice}"
            + (" --load" if self.load else "")
        )

    def __post_init__(self) -> None:
        """Refuse impossible settings with a :class:`UsageError` naming the field (``rth serve`` flag)."""
        if not 0 <= self.port <= 65535:
            raise UsageError(f"port must be 0..65535, got {self.port}; pick another --port")
        if self.workers < 1:
            raise UsageError(f"workers must be at least 1, got {self.workers}; pass --workers 1 or more")
        if self.asr_workers < 1:
            raise UsageError(f"asr_workers must be at least 1, got {self.asr_workers}")
        if self.api_key is not None and not self.api_key.strip():
            raise UsageError(
                "api_key is empty; set --api-key (or RTH_SERVE_API_KEY) to a key, or unset it to accept "
                "any key"
            )
        if self.generation_speed < 1:
            raise UsageError(
                f"generation_speed must be at least 1 (x real time), got {self.generation_speed}"
            )
        for name in ("first_audio_delay_ms", "transcription_delay_ms", "jitter_ms"):
            if getattr(self, name) < 0:
                raise UsageError(f"{name} must be >= 0, got {getattr(self, name)}")


def api_base_url(host: str, port: int) -> str:
    """``http://HOST:PORT/v1`` (IPv6 hosts bracketed): what clients take as their API base URL."""
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/v1"
