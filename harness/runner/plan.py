"""What a run executes: every scenario x every matrix variant x every repetition, in a fair order.

``--matrix model=a,b --matrix voice=c,d`` gives the cross product of the values (4 variants);
besides ``model`` and ``voice`` (the assistant's), an axis may be ``caller_voice`` (which flite
voice speaks the user's clips) or any perturbation setting (``noise_snr_db=30,10,0``), which wins
over what the scenario declares. ``--repeat N`` runs each (scenario, variant) N times.
Repetitions are the outer loop, so a slow minute of the target hits every variant alike instead
of biasing the one that ran then.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from harness.errors import ScenarioError, UsageError
from harness.scenario import Scenario, SessionConfig
from harness.scenario.compose import missing_voices
from harness.scenario.perturbation import CALLER_VOICES, PERTURBATION_AXES, Perturbation

MATRIX_AXES = ("model", "voice", "caller_voice", *PERTURBATION_AXES)
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
FILE_NAME_MAX = 100


def file_name(text: str) -> str:
    """``text`` as one path component safe on any OS and CI artifact store: characters outside
    ``[A-Za-z0-9_.-]`` become ``-``, no leading dot, at most :data:`FILE_NAME_MAX` characters. A
    name that had to change keeps a digest of the original, so two names never become one."""
    safe = _UNSAFE.sub("-", text).lstrip(".")
    if safe == text and 0 < len(text) <= FILE_NAME_MAX:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    return f"{safe[: FILE_NAME_MAX - 9]}-{digest}"


@dataclass(frozen=True, slots=True)
class Variant:
    """One point of the matrix: ``(("model", "gpt-realtime-mini"), ("voice", "marin"))``."""

    values: tuple[tuple[str, str], ...] = ()

    def get(self, axis: str) -> str | None:
        return dict(self.values).get(axis)

    def as_dict(self) -> dict[str, str]:
        return dict(self.values)

    @property
    def label(self) -> str:
        """``model=gpt-realtime-mini,voice=marin`` (empty for the single, unnamed variant)."""
        return ",".join(f"{axis}={value}" for axis, value in self.values)

    @property
    def slug(self) -> str:
        """The label made safe for a folder name on any OS and CI artifact store."""
        return file_name("_".join(f"{axis}-{_UNSAFE.sub('-', value)}" for axis, value in self.values))


@dataclass(frozen=True, slots=True)
class PlannedRun:
    """One session to run: the scenario (with the variant applied), its variant and repetition."""

    scenario: Scenario
    variant: Variant
    repeat: int
    repeats: int
    name: str | None = None  # set by a load worker: its own unique session name

    @property
    def instance(self) -> str:
        """Unique within the run: the timeline session name and the audio/ subfolder.

        A plain run keeps the scenario name (``audio/smoke/``); repeats and variants nest below.
        """
        if self.name is not None:
            return self.name
        parts = [self.variant.slug] if self.variant.values else []
        parts.append(file_name(self.scenario.name))
        if self.repeats > 1:
            parts.append(f"r{self.repeat + 1}")
        return "/".join(parts)


def parse_matrix(specs: Sequence[str]) -> dict[str, list[str]]:
    """``["model=a,b", "voice=c"]`` -> ``{"model": ["a", "b"], "voice": ["c"]}``; errors name the fix."""
    matrix: dict[str, list[str]] = {}
    for spec in specs:
        axis, sep, values = spec.partition("=")
        axis = axis.strip()
        if not sep or axis not in MATRIX_AXES:
            raise UsageError(
                f"--matrix {spec!r}: expected AXIS=VALUE[,VALUE...] with AXIS one of {', '.join(MATRIX_AXES)}"
            )
        items = [value.strip() for value in values.split(",") if value.strip()]
        if not items:
            raise UsageError(f"--matrix {spec!r}: give at least one value after '='")
        if axis in matrix:
            raise UsageError(f"--matrix {axis} is given twice; list all values in one option")
        if len(set(items)) != len(items):
            raise UsageError(f"--matrix {spec!r}: a value is repeated")
        for item in items:
            _check_value(axis, item)
        matrix[axis] = items
    return matrix


def _check_value(axis: str, value: str) -> None:
    """A perturbation or caller voice value must be one the scenario language accepts (same bounds)."""
    if axis == "caller_voice" and value not in CALLER_VOICES:
        raise UsageError(f"--matrix caller_voice={value}: use one of {', '.join(CALLER_VOICES)}")
    if axis in PERTURBATION_AXES:
        try:
            Perturbation.model_validate({axis: value})
        except ValidationError as exc:
            message = exc.errors()[0]["msg"]
            raise UsageError(
                f"--matrix {axis}={value}: {message}; see docs/scenarios.md (Perturbations)"
            ) from None


def with_perturbation(scenario: Scenario, settings: dict[str, str]) -> Scenario:
    """The scenario with ``settings`` over its own ``perturb`` and every turn's (so they win)."""

    def over(current: Perturbation | None) -> Perturbation:
        base = current.model_dump(exclude_unset=True) if current is not None else {}
        return Perturbation.model_validate({**base, **settings})

    turns = tuple(
        turn.model_copy(update={"perturb": over(turn.perturb)}) if turn.perturb is not None else turn
        for turn in scenario.turns
    )
    return scenario.model_copy(update={"perturb": over(scenario.perturb), "turns": turns})


def apply_variant(scenario: Scenario, variant: Variant) -> Scenario:
    """The scenario as this matrix point runs it (``model`` is applied when connecting)."""
    values = variant.as_dict()
    if values.get("voice"):
        scenario = with_voice(scenario, values["voice"])
    if values.get("caller_voice"):
        scenario = scenario.model_copy(update={"caller_voice": values["caller_voice"]})
    settings = {axis: value for axis, value in values.items() if axis in PERTURBATION_AXES}
    return with_perturbation(scenario, settings) if settings else scenario


def variants(matrix: dict[str, list[str]]) -> list[Variant]:
    """The cross product, axes in the order given; one empty variant without a matrix."""
    axes = list(matrix)
    return [Variant(tuple(zip(axes, combo, strict=True))) for combo in itertools.product(*matrix.values())]


def with_voice(scenario: Scenario, voice: str) -> Scenario:
    """The scenario with ``session.audio.output.voice`` replaced (the rest of the session kept)."""
    data = scenario.session.payload()
    audio = dict(data.get("audio") or {})
    audio["output"] = {**(audio.get("output") or {}), "voice": voice}
    data["audio"] = audio
    return scenario.model_copy(update={"session": SessionConfig.model_validate(data)})


def voice_of(scenario: Scenario) -> str | None:
    audio = scenario.session.audio
    voice = audio.output.voice if audio is not None and audio.output is not None else None
    if isinstance(voice, dict):
        return str(voice.get("id")) if voice.get("id") else None
    return str(voice) if voice else None


def build_plan(
    scenarios: Sequence[Scenario], repeat: int = 1, matrix: dict[str, list[str]] | None = None
) -> list[PlannedRun]:
    if repeat < 1:
        raise UsageError(f"--repeat {repeat}: must be 1 or more")
    plan: list[PlannedRun] = []
    for index in range(repeat):
        for variant in variants(matrix or {}):
            for scenario in scenarios:
                plan.append(PlannedRun(apply_variant(scenario, variant), variant, index, repeat))
    if "caller_voice" in (matrix or {}):
        missing = list(
            dict.fromkeys(p for run in plan if run.repeat == 0 for p in missing_voices(run.scenario))
        )
        if missing:
            more = f" (+{len(missing) - 1} more)" if len(missing) > 1 else ""
            raise ScenarioError(missing[0] + more, problems=missing)
    return plan
