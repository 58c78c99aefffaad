"""What a run executes: every scenario x every matrix variant x every repetition, in a fair order.

``--matrix model=a,b --matrix voice=c,d`` gives the cross product of the values (4 variants);
``--repeat N`` runs each (scenario, variant) N times. Repetitions are the outer loop, so a slow
minute of the target hits every variant alike instead of biasing the one that ran then.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from harness.errors import UsageError
from harness.scenario import Scenario, SessionConfig

MATRIX_AXES = ("model", "voice")
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
        matrix[axis] = items
    return matrix


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
                voice = variant.get("voice")
                applied = with_voice(scenario, voice) if voice else scenario
                plan.append(PlannedRun(applied, variant, index, repeat))
    return plan
