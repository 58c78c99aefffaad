"""Pydantic models of scenario YAML files: one conversation per scenario, driven turn by turn.

A turn plays a WAV file into the call (or nothing), then runs its ``actions`` in order; each
action is one client event of the Realtime protocol (or a wait/pause). Actions are written as a
bare name (``commit``) or a one-key mapping (``wait_for: response.done``); both forms load into
the same models, and both appear in the exported JSON Schema.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _EmptyOptions(_Strict):
    pass


class _Action(_Strict):
    """An action written as a bare name (``commit``) loads as ``{commit: {}}``."""

    @model_validator(mode="before")
    @classmethod
    def _expand_bare_name(cls, data: Any) -> Any:
        return {data: {}} if isinstance(data, str) else data


class Commit(_Action):
    """``input_audio_buffer.commit``: end the user's turn (push-to-talk)."""

    commit: _EmptyOptions = _EmptyOptions()


class CreateResponse(_Action):
    """``response.create``, optionally with a ``response`` object (instructions, modalities...)."""

    create_response: dict[str, Any] = Field(default_factory=dict)


class Cancel(_Action):
    """Interrupt: ``response.cancel`` then ``output_audio_buffer.clear``, as a browser client does."""

    cancel: _EmptyOptions = _EmptyOptions()


class Clear(_Action):
    """``input_audio_buffer.clear``: drop uncommitted input audio."""

    clear: _EmptyOptions = _EmptyOptions()


class WaitForOptions(_Strict):
    event: str = Field(description="Server event type, e.g. response.done")
    timeout_ms: int = Field(default=15_000, gt=0)


class WaitFor(_Action):
    """Block until the server sends an event of this type (after the turn started)."""

    wait_for: WaitForOptions

    @model_validator(mode="before")
    @classmethod
    def _event_shorthand(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("wait_for"), str):
            return {**data, "wait_for": {"event": data["wait_for"]}}
        return data


class Sleep(_Action):
    """Pause the script; the input track keeps sending silence meanwhile."""

    sleep_ms: int = Field(ge=0)


_BARE_ACTIONS = ("commit", "create_response", "cancel", "clear")
ACTION_NAMES: tuple[str, ...] = (*_BARE_ACTIONS, "wait_for", "sleep_ms")


def _action_tag(value: Any) -> str | None:
    """Pick the action model from the single key (or bare name) so errors name one action only."""
    if isinstance(value, str):
        return value if value in _BARE_ACTIONS else None
    if isinstance(value, dict) and len(value) == 1:
        key = next(iter(value))
        return key if key in ACTION_NAMES else None
    if isinstance(value, _Action):
        return next(iter(type(value).model_fields))
    return None


Action = Annotated[
    Annotated[Commit, Tag("commit")]
    | Annotated[CreateResponse, Tag("create_response")]
    | Annotated[Cancel, Tag("cancel")]
    | Annotated[Clear, Tag("clear")]
    | Annotated[WaitFor, Tag("wait_for")]
    | Annotated[Sleep, Tag("sleep_ms")],
    Discriminator(
        _action_tag,
        custom_error_type="unknown_action",
        custom_error_message="unknown action; use one of: " + ", ".join(ACTION_NAMES),
    ),
]

DEFAULT_ACTIONS: tuple[Action, ...] = (
    Commit(),
    CreateResponse(),
    WaitFor(wait_for=WaitForOptions(event="response.done")),
)


class TurnExpectations(_Strict):
    """Verdicts for one turn; every bound is checked and reported with the measured value."""

    max_input_wer: float | None = Field(
        default=None, ge=0, description="Normalised WER of the user transcript"
    )
    response_status: Literal["completed", "cancelled", "failed", "incomplete"] | None = None
    assistant_transcript_not_empty: bool | None = None
    audio_not_silent: bool | None = Field(default=None, description="Captured assistant audio has sound")
    max_first_audio_ms: float | None = Field(default=None, gt=0, description="response.create -> first audio")
    max_response_done_ms: float | None = Field(
        default=None, gt=0, description="response.create -> response.done"
    )


class Turn(_Strict):
    name: str | None = None
    audio: Path | None = Field(default=None, description="WAV file to speak, relative to the scenario file")
    text: str | None = Field(default=None, description="What the audio says (ground truth for input WER)")
    actions: tuple[Action, ...] = DEFAULT_ACTIONS
    expect: TurnExpectations = TurnExpectations()


class Scenario(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="Used in file names and report ids")
    description: str = ""
    session: dict[str, Any] = Field(
        default_factory=dict,
        description="The session object sent with session.update (type: realtime is added)",
    )
    turns: tuple[Turn, ...] = Field(min_length=1)
    source: Path | None = Field(default=None, exclude=True, description="Set by the loader")

    def turn_label(self, index: int) -> str:
        turn = self.turns[index]
        return turn.name or f"turn{index}"
