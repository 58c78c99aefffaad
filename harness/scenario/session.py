"""The ``session`` object of ``session.update``, as a scenario writes it.

Every field of the GA Realtime session (``openai.types.realtime.RealtimeSessionCreateRequest``;
a test keeps the two in step) is accepted. The audio settings the harness reasons about (turn
detection, transcription, formats, voice) are typed strictly, so a typo fails validation instead
of being ignored by the server; open-ended objects (tools, prompt, tracing...) pass through as given.
Only the fields written in the file are sent (``payload()``), so the target's defaults stay in charge.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from harness.scenario._base import HOUR_MS, Strict

# "An integer between 1 and 4096, or inf" (the Realtime API reference).
OutputTokens = Annotated[int, Field(ge=1, le=4096)] | Literal["inf"]


class ServerVad(Strict):
    """Server-side voice activity detection on audio energy."""

    type: Literal["server_vad"]
    threshold: float | None = Field(default=None, ge=0, le=1)
    prefix_padding_ms: int | None = Field(default=None, ge=0, le=HOUR_MS)
    silence_duration_ms: int | None = Field(default=None, ge=0, le=HOUR_MS)
    idle_timeout_ms: int | None = Field(default=None, gt=0, le=HOUR_MS)
    create_response: bool | None = None
    interrupt_response: bool | None = None


class SemanticVad(Strict):
    """Turn detection by a model that judges whether the user has finished."""

    type: Literal["semantic_vad"]
    eagerness: Literal["low", "medium", "high", "auto"] | None = None
    create_response: bool | None = None
    interrupt_response: bool | None = None


TurnDetection = Annotated[ServerVad | SemanticVad, Field(discriminator="type")]


class AudioFormat(Strict):
    type: Literal["audio/pcm", "audio/pcmu", "audio/pcma"]
    rate: Literal[24000] | None = None


class NoiseReduction(Strict):
    type: Literal["near_field", "far_field"]


class InputTranscription(Strict):
    model: str | None = None
    language: str | None = None
    languages: list[str] | None = None
    prompt: str | None = None
    keywords: list[str] | None = None
    delay: Literal["minimal", "low", "medium", "high", "xhigh"] | None = None


class AudioInput(Strict):
    format: AudioFormat | None = None
    noise_reduction: NoiseReduction | None = None
    transcription: InputTranscription | None = None
    turn_detection: TurnDetection | None = Field(
        default=None, description="null = push-to-talk (the harness default): turns commit themselves"
    )


class AudioOutput(Strict):
    format: AudioFormat | None = None
    voice: str | dict[str, Any] | None = Field(default=None, description="e.g. alloy, cedar, marin")
    speed: float | None = Field(default=None, ge=0.25, le=1.5)


class AudioConfig(Strict):
    input: AudioInput | None = None
    output: AudioOutput | None = None


class SessionConfig(Strict):
    """``session.update``'s session object (``type: realtime`` is added when sent)."""

    type: Literal["realtime"] = "realtime"
    model: str | None = None
    instructions: str | None = None
    output_modalities: list[Literal["audio", "text"]] | None = Field(
        default=None, min_length=1, max_length=1, description="['audio'] or ['text'], not both"
    )
    audio: AudioConfig | None = None
    include: list[str] | None = None
    max_output_tokens: OutputTokens | None = None
    parallel_tool_calls: bool | None = None
    prompt: dict[str, Any] | None = None
    reasoning: dict[str, Any] | None = None
    tool_choice: str | dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = None
    tracing: Literal["auto"] | dict[str, Any] | None = None
    truncation: Literal["auto", "disabled"] | dict[str, Any] | None = None

    def payload(self) -> dict[str, Any]:
        """The fields the file set (explicit nulls included), as JSON-ready data."""
        return self.model_dump(mode="json", exclude_unset=True)

    def turn_detection(self) -> dict[str, Any] | None:
        """The configured turn detection, or None for push-to-talk (also when unset)."""
        audio_input = self.audio.input if self.audio else None
        detection = audio_input.turn_detection if audio_input else None
        return None if detection is None else detection.model_dump(mode="json", exclude_unset=True)


class ResponseAudioOutput(Strict):
    format: AudioFormat | None = None
    voice: str | dict[str, Any] | None = None


class ResponseAudio(Strict):
    output: ResponseAudioOutput | None = None


class ResponseOverrides(Strict):
    """``response.create``'s ``response`` object: per-response overrides of the session."""

    conversation: str | None = Field(default=None, description="auto (default) or none (out of band)")
    input: list[dict[str, Any]] | None = None
    instructions: str | None = None
    output_modalities: list[Literal["audio", "text"]] | None = Field(default=None, min_length=1, max_length=1)
    metadata: dict[str, str] | None = None
    max_output_tokens: OutputTokens | None = None
    audio: ResponseAudio | None = None
    parallel_tool_calls: bool | None = None
    prompt: dict[str, Any] | None = None
    reasoning: dict[str, Any] | None = None
    tool_choice: str | dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = None

    def payload(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)
