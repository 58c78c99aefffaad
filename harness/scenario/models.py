"""Scenario files: one conversation per scenario, driven turn by turn; suites group scenarios.

A turn speaks (a WAV clip, or a typed ``say`` message), then runs its ``actions`` in order. Its
``mode`` says who ends the user's turn: ``manual`` (push-to-talk: the client commits) or ``vad``
(the server's turn detection commits and answers by itself).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from harness.protocol import ServerEventType
from harness.protocol.faults import Fault, NetworkSpec
from harness.protocol.urls import base_url_problem
from harness.scenario._base import Strict, deep_merge
from harness.scenario.actions import (
    Action,
    AudioClip,
    BargeIn,
    Commit,
    CreateResponse,
    wait_for,
)
from harness.scenario.expectations import ScenarioExpectations, TurnExpectations
from harness.scenario.perturbation import CallerVoice, Perturbation
from harness.scenario.session import SessionConfig

TurnMode = Literal["manual", "vad"]
ConnectName = Literal["unified", "ephemeral"]
NAME_PATTERN = r"^[A-Za-z0-9_.-]+$"
# Names become file and folder names (audio/<scenario>/<NN>-<turn>.sent.wav): short enough for
# any filesystem (255 bytes a component) with room for what is added, and never "." or "..".
NAME_MAX = 100


def _file_safe(value: str | None) -> str | None:
    if value is not None and not value.strip("."):
        raise ValueError("a name made of dots only would be a folder name ('.', '..'); use letters or digits")
    return value


class Turn(Strict):
    name: str | None = Field(
        default=None, pattern=NAME_PATTERN, max_length=NAME_MAX, description="Used in file names"
    )
    audio: AudioClip | None = Field(default=None, description="What the user says, as a WAV clip")
    say: str | None = Field(
        default=None, description="A typed user message (conversation.item.create) instead of audio"
    )
    text: str | None = Field(default=None, description="What the audio says (ground truth for input WER)")
    reply: str | None = Field(
        default=None, description="The expected assistant reply (reference for output WER)"
    )
    mode: TurnMode | None = Field(
        default=None,
        description="manual: the client commits (push-to-talk); vad: server turn detection does. "
        "Default: vad when the session sets turn_detection, else manual",
    )
    actions: tuple[Action, ...] | None = Field(
        default=None,
        description="Default: [commit, create_response, {wait_for: response.done}] for audio, "
        "[create_response, {wait_for: response.done}] for say, [{wait_for: response.done}] in vad mode",
    )
    expect: TurnExpectations = TurnExpectations()
    perturb: Perturbation | None = Field(
        default=None, description="Degrade this turn's clips when loaded (over the scenario's `perturb`)"
    )

    _file_safe_name = field_validator("name")(_file_safe)

    @model_validator(mode="after")
    def _one_input(self) -> Turn:
        if self.audio is not None and self.say is not None:
            raise ValueError("a turn either plays `audio` or types `say`, not both")
        if self.say is not None and self.text is not None:
            raise ValueError("`text` is the ground truth of the audio; a `say` turn has no audio")
        if self.say is not None and self.mode == "vad":
            raise ValueError("a `say` turn is typed: turn detection never fires on it; drop `mode: vad`")
        return self

    def actions_for(self, mode: TurnMode) -> tuple[Action, ...]:
        """The written actions, else the default for this kind of turn."""
        if self.actions is not None:
            return self.actions
        if mode == "vad" and self.say is None:
            return (wait_for(ServerEventType.RESPONSE_DONE),) if self.audio is not None else ()
        if self.say is not None:
            return (CreateResponse(), wait_for(ServerEventType.RESPONSE_DONE))
        if self.audio is not None:
            return (Commit(), CreateResponse(), wait_for(ServerEventType.RESPONSE_DONE))
        return ()

    def clips(self) -> list[tuple[str, AudioClip]]:
        """Every clip the turn plays, with its field path below the turn (for error messages)."""
        found = [("audio", self.audio)] if self.audio is not None else []
        for index, action in enumerate(self.actions or ()):
            if isinstance(action, BargeIn):
                found.append((f"actions.{index}.barge_in.audio", action.barge_in.audio))
        return found


class _Shared(Strict):
    """Fields a suite's ``defaults`` can set for every scenario it holds."""

    tags: list[str] = Field(default_factory=list, description="Labels for selecting and grouping runs")
    target: str | None = Field(
        default=None, description="'local' or a base URL; overrides `rth run --target` for this scenario"
    )
    connect: ConnectName | None = Field(default=None, description="Overrides `rth run --connect`")
    model: str | None = Field(default=None, description="Overrides `rth run --model`")
    persona: Path | None = Field(
        default=None,
        description="Reply rules (YAML, see examples/personas/) for the stand-in, relative to this file; "
        "sent with this scenario's call to 'local' or a loopback URL (rth serve), never to other targets",
    )
    faults: tuple[Fault, ...] = Field(
        default=(),
        description="Faults the stand-in injects into this scenario's call (HTTP errors, drops, event "
        "and RTP faults; docs/reliability.md); sent with the call to 'local' or a loopback URL only",
    )
    client_network: NetworkSpec | None = Field(
        default=None,
        description="Impair the RTP the client sends: a preset (lossy-wifi, 3g, edge) or "
        "{loss_percent, jitter_ms, rate_kbit_s, seed}; overrides `rth run --client-network`",
    )
    session: SessionConfig = Field(
        default_factory=SessionConfig, description="The session object sent with session.update"
    )
    perturb: Perturbation | None = Field(
        default=None,
        description="Degrade every clip when loaded: noise, speed, gain, clipping, telephone band, "
        "silence, dropouts (a turn's own `perturb` wins key by key)",
    )
    caller_voice: CallerVoice | None = Field(
        default=None,
        description="Speak every synthesised clip in this flite voice instead: plays CLIP.<voice>.wav "
        "next to each CLIP.wav made by `rth fixtures synth` (the assistant's voice stays `session`'s)",
    )
    turn_expect: TurnExpectations = Field(
        default_factory=TurnExpectations, description="Expectations every turn gets (a turn's own win)"
    )
    expect: ScenarioExpectations = Field(
        default_factory=ScenarioExpectations, description="Checked once over the whole scenario"
    )

    @field_validator("target")
    @classmethod
    def _usable_target(cls, value: str | None) -> str | None:
        problem = None if value in (None, "local") else base_url_problem(value)
        if problem is not None:
            raise ValueError(f"'local' or a base URL: {problem}")
        return value


class Scenario(_Shared):
    name: str = Field(
        pattern=NAME_PATTERN, max_length=NAME_MAX, description="Used in file names and report ids"
    )
    description: str = ""
    turns: tuple[Turn, ...] = Field(min_length=1)
    source: Path | None = Field(default=None, exclude=True, description="Set by the loader")

    _file_safe_name = field_validator("name")(_file_safe)

    def turn_label(self, index: int) -> str:
        turn = self.turns[index]
        return turn.name or f"turn{index}"

    def turn_mode(self, index: int) -> TurnMode:
        turn = self.turns[index]
        if turn.mode is not None:
            return turn.mode
        return "manual" if turn.say is not None or self.session.turn_detection() is None else "vad"

    def perturbation(self, index: int) -> Perturbation | None:
        """The turn's ``perturb`` over the scenario's (the turn's own keys win); None when neither
        changes the audio."""
        turn = self.turns[index].perturb
        if self.perturb is None and turn is None:
            return None
        merged = Perturbation.model_validate(
            merge_models(self.perturb or Perturbation(), turn or Perturbation())
        )
        return merged if merged.changes_audio else None

    def expectations(self, index: int) -> TurnExpectations:
        """The turn's expectations over the scenario's ``turn_expect`` (the turn's own fields win)."""
        merged = merge_models(self.turn_expect, self.turns[index].expect)
        return TurnExpectations.model_validate(merged)


class SuiteDefaults(_Shared):
    """Applied under every scenario of the suite and of the files it includes."""

    concurrency: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="Sessions run side by side when this suite is run (`rth run --concurrency` wins); "
        "with several suites the smallest applies",
    )


class Suite(Strict):
    """Several scenarios in one file, sharing ``defaults``, plus scenarios from other files."""

    suite: str | None = Field(default=None, description="A name for the suite (added to every tag list)")
    description: str = ""
    defaults: SuiteDefaults = Field(default_factory=SuiteDefaults)
    include: list[str] = Field(
        default_factory=list, description="Scenario or suite files (globs allowed), relative to this file"
    )
    scenarios: list[Scenario] = Field(default_factory=list)

    @model_validator(mode="after")
    def _not_empty(self) -> Suite:
        if not self.include and not self.scenarios:
            raise ValueError("a suite needs `scenarios` or `include`")
        return self


def apply_defaults(scenario: Scenario, defaults: _Shared, suite: str | None = None) -> Scenario:
    """The scenario with a suite's defaults under it: what the scenario sets wins, mappings
    (session, expectations) merge key by key, tags add up (the suite's name becomes a tag)."""
    update: dict[str, Any] = {}
    for name in ("target", "connect", "model", "persona", "caller_voice", "faults", "client_network"):
        if name in defaults.model_fields_set and name not in scenario.model_fields_set:
            update[name] = getattr(defaults, name)
    for name, model in (
        ("session", SessionConfig),
        ("turn_expect", TurnExpectations),
        ("expect", ScenarioExpectations),
        ("perturb", Perturbation),
    ):
        base, own = getattr(defaults, name), getattr(scenario, name)
        if name in defaults.model_fields_set and base is not None:
            update[name] = model.model_validate(merge_models(base, own if own is not None else model()))
    tags = [*defaults.tags, *([suite] if suite else []), *scenario.tags]
    update["tags"] = list(dict.fromkeys(tags))
    return scenario.model_copy(update=update)


def merge_models(base: Strict, override: Strict) -> dict[str, Any]:
    """Fields set in ``override`` win over those set in ``base`` (nested mappings merge)."""
    return deep_merge(base.model_dump(exclude_unset=True), override.model_dump(exclude_unset=True))
