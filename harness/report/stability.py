"""Repeats: pass rate per scenario and turn, flaky marking, and what kind of failure it was.

A turn that passed in some repetitions and failed in others is *flaky*. A turn that never ran in a
repetition (the session failed to connect, or stopped at an earlier turn) counts as a failure of
the scenario's kind, so a connect failure lowers every turn's pass rate.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from harness.report.model import FailureKind, RunReport, ScenarioReport, TurnReport

NOT_RUN = "not run"


def variant_label(scenario: ScenarioReport) -> str:
    """``model=gpt-realtime-mini,voice=marin``; empty for a run without a matrix."""
    return ",".join(f"{axis}={value}" for axis, value in scenario.variant.items())


def failure_kind(turn: TurnReport) -> str | None:
    """None when the turn passed; an expectation failure only about audio counts as ``audio``."""
    if turn.passed:
        return None
    if turn.failure_kind is not None and turn.failure_kind != FailureKind.EXPECTATION:
        return str(turn.failure_kind)
    failed = [v.name for v in turn.verdicts if not v.passed]
    if failed and all(name.startswith("audio_") for name in failed):
        return str(FailureKind.AUDIO)
    return str(FailureKind.EXPECTATION)


@dataclass
class Stability:
    """One scenario (``turn`` None) or one turn of it, over every repetition of one variant."""

    variant: str
    scenario: str
    turn: str | None
    runs: int = 0
    passed: int = 0
    failures: Counter[str] = field(default_factory=Counter)

    @property
    def pass_rate(self) -> float:
        return self.passed / self.runs if self.runs else 0.0

    @property
    def flaky(self) -> bool:
        return 0 < self.passed < self.runs

    def add(self, kind: str | None) -> None:
        self.runs += 1
        if kind is None:
            self.passed += 1
        else:
            self.failures[kind] += 1

    def failure_text(self) -> str:
        """``timeout x2, expectation x1`` (most frequent first)."""
        return ", ".join(f"{kind} x{count}" for kind, count in self.failures.most_common())


def _scenario_kind(scenario: ScenarioReport) -> str | None:
    if scenario.passed:
        return None
    if scenario.error is not None:
        return str(scenario.failure_kind or FailureKind.PROTOCOL)
    kinds = [failure_kind(turn) for turn in scenario.turns]
    return next((kind for kind in kinds if kind is not None), str(FailureKind.EXPECTATION))


def stability(report: RunReport) -> list[Stability]:
    """Rows in first-seen order: each scenario of each variant, followed by its turns."""
    groups: dict[tuple[str, str], list[ScenarioReport]] = {}
    for scenario in report.scenarios:
        groups.setdefault((variant_label(scenario), scenario.name), []).append(scenario)
    rows: list[Stability] = []
    for (variant, name), runs in groups.items():
        total = Stability(variant, name, None)
        turn_names: dict[int, str] = {}
        for run in runs:
            total.add(_scenario_kind(run))
            for turn in run.turns:
                turn_names.setdefault(turn.index, turn.name)
        per_turn = {index: Stability(variant, name, label) for index, label in sorted(turn_names.items())}
        for run in runs:
            ran = {turn.index: turn for turn in run.turns}
            for index, row in per_turn.items():
                done = ran.get(index)
                row.add(failure_kind(done) if done else str(run.failure_kind or NOT_RUN))
        rows.append(total)
        rows.extend(per_turn.values())
    return rows
