"""The actions of a turn: each one client event of the Realtime protocol, a wait, or a barge-in.

Written as a bare name (``commit``) or a one-key mapping (``wait_for: response.done``); both
forms load into the same models and both appear in the exported JSON Schema.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from harness.scenario._base import HOUR_MS, ShortForm, Shorthand, Strict
from harness.scenario.events import EventPattern, check_server_event
from harness.scenario.session import ResponseOverrides

DEFAULT_TIMEOUT_MS = 15_000


class AudioClip(Shorthand):
    """A WAV file to speak: any rate, width or channels (resampled to 48 kHz mono when sent)."""

    SHORT_FIELD: ClassVar[str] = "path"
    SHORT_SCHEMA: ClassVar[dict[str, Any]] = {
        "type": "string",
        "description": "WAV file, relative to the scenario file",
    }

    path: Path = Field(description="WAV file, relative to the file that names it")
    gain_db: float = Field(default=0.0, ge=-60, le=40, description="Applied before sending (clipped)")
    offset_ms: int = Field(default=0, ge=0, le=HOUR_MS, description="Skip this much of the file's start")
    duration_ms: int | None = Field(
        default=None, gt=0, le=HOUR_MS, description="Send at most this much (after offset)"
    )

    @property
    def trimmed(self) -> bool:
        return self.offset_ms > 0 or self.duration_ms is not None


class _Bare(ShortForm):
    """An action that may be written as its bare name: ``commit`` loads as ``{commit: {}}``."""

    @classmethod
    def short_schema(cls) -> dict[str, Any]:
        return {"const": next(iter(cls.model_fields))}

    @model_validator(mode="before")
    @classmethod
    def _expand_bare_name(cls, data: Any) -> Any:
        return {data: {}} if isinstance(data, str) else data


class _NoOptions(Strict):
    pass


class Commit(_Bare):
    """``input_audio_buffer.commit``: end the user's turn (push-to-talk)."""

    commit: _NoOptions = _NoOptions()


class CreateResponse(_Bare):
    """``response.create``, optionally with a ``response`` object overriding the session."""

    create_response: ResponseOverrides = ResponseOverrides()


class Cancel(_Bare):
    """Interrupt: ``response.cancel`` then ``output_audio_buffer.clear``, as a browser client does."""

    cancel: _NoOptions = _NoOptions()


class Clear(_Bare):
    """``input_audio_buffer.clear``: drop uncommitted input audio."""

    clear: _NoOptions = _NoOptions()


class ClearOutput(_Bare):
    """``output_audio_buffer.clear`` alone: stop the audio playing now (no ``response.cancel``)."""

    clear_output: _NoOptions = _NoOptions()


class WaitForOptions(EventPattern):
    timeout_ms: int = Field(default=DEFAULT_TIMEOUT_MS, gt=0, le=HOUR_MS)


class WaitFor(Strict):
    """Block until the server sends a matching event (at or after the previous action)."""

    wait_for: WaitForOptions


class Sleep(Strict):
    """Pause the script; the input track keeps sending silence meanwhile."""

    sleep_ms: int = Field(ge=0, le=HOUR_MS)


class BargeInOptions(Strict):
    after: str | int = Field(
        description="A server event type to wait for, or milliseconds to wait, before speaking"
    )
    audio: AudioClip
    timeout_ms: int = Field(
        default=DEFAULT_TIMEOUT_MS, gt=0, le=HOUR_MS, description="For an event in `after`"
    )
    cancel: bool = Field(
        default=False,
        description="Also send response.cancel + output_audio_buffer.clear as the speech starts "
        "(a client-side interruption, for push-to-talk sessions)",
    )

    @field_validator("after")
    @classmethod
    def _event_or_delay(cls, value: str | int) -> str | int:
        if isinstance(value, int):
            if not 0 <= value <= HOUR_MS:
                raise ValueError(f"a delay must be 0 ms or more, and at most an hour ({HOUR_MS} ms)")
            return value
        return check_server_event(value)


class BargeIn(Strict):
    """Speak over the assistant: wait for an event or a delay, then play a clip to its end."""

    barge_in: BargeInOptions


class Send(Strict):
    """Send one raw client event as written (``event_id`` added if missing): the escape hatch."""

    send: dict[str, Any]

    @field_validator("send")
    @classmethod
    def _has_type(cls, value: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(value.get("type"), str):
            raise ValueError("a client event needs a string 'type', e.g. {type: conversation.item.retrieve}")
        return value


BARE_ACTIONS: tuple[str, ...] = ("commit", "create_response", "cancel", "clear", "clear_output")
ACTION_NAMES: tuple[str, ...] = (*BARE_ACTIONS, "wait_for", "sleep_ms", "barge_in", "send")


def _action_tag(value: Any) -> str | None:
    """Pick the action model from the single key (or bare name) so errors name one action only."""
    if isinstance(value, str):
        return value if value in BARE_ACTIONS else None
    if isinstance(value, dict) and len(value) == 1:
        key = next(iter(value))
        return key if key in ACTION_NAMES else None
    if isinstance(value, Strict):
        return next(iter(type(value).model_fields))
    return None


Action = Annotated[
    Annotated[Commit, Tag("commit")]
    | Annotated[CreateResponse, Tag("create_response")]
    | Annotated[Cancel, Tag("cancel")]
    | Annotated[Clear, Tag("clear")]
    | Annotated[ClearOutput, Tag("clear_output")]
    | Annotated[WaitFor, Tag("wait_for")]
    | Annotated[Sleep, Tag("sleep_ms")]
    | Annotated[BargeIn, Tag("barge_in")]
    | Annotated[Send, Tag("send")],
    Discriminator(
        _action_tag,
        custom_error_type="unknown_action",
        custom_error_message="unknown action; use one of: " + ", ".join(ACTION_NAMES),
    ),
]


def wait_for(event: str, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> WaitFor:
    return WaitFor(wait_for=WaitForOptions(event=event, timeout_ms=timeout_ms))
