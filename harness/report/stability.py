"""Repeats: pass rate, pass@k and pass^k per scenario and turn, flaky marking, failure kinds.

A turn that passed in some repetitions and failed in others is *flaky*. A turn that never ran in a
repetition (the session failed to connect, or stopped at an earlier turn) counts as a failure of
the scenario's kind, so a connect failure lowers every turn's pass rate.

From ``c`` passes in ``n`` runs, the unbiased estimators (Chen et al. 2021 for pass@k, Yao et al.
2024, tau-bench, for pass^k) give the chance that at least one of ``k`` fresh runs passes (pass@k:
is it *capable*) and that all ``k`` pass (pass^k: is it *reliable*):
``pass@k = 1 - C(n-c, k) / C(n, k)``, ``pass^k = C(c, k) / C(n, k)``, for ``k <= n``. Reports show
them at ``k = n`` per row, and their mean over the scenarios of a variant.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from math import comb

from harness.report.model import FailureKind, RunReport, ScenarioReport, StabilityRow, TurnReport

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

    def pass_at(self, k: int) -> float:
        """Chance that at least one of ``k`` runs passes (``1 <= k <= runs``)."""
        return pass_at_k(self.runs, self.passed, k)

    def pass_hat(self, k: int) -> float:
        """Chance that all ``k`` runs pass (``1 <= k <= runs``)."""
        return pass_hat_k(self.runs, self.passed, k)

    def figures(self) -> list[str]:
        """passed/runs, rate, pass@n, pass^n (n = runs), as every renderer prints them."""
        n = self.runs
        return [
            f"{self.passed}/{n}",
            *(_percent(v) for v in (self.pass_rate, self.pass_at(n), self.pass_hat(n))),
        ]

    def model(self) -> StabilityRow:
        """The row as report.json keeps it, with the whole pass@k and pass^k curves (k = 1..runs)."""
        ks = range(1, self.runs + 1)
        return StabilityRow(
            variant=self.variant,
            scenario=self.scenario,
            turn=self.turn,
            runs=self.runs,
            passed=self.passed,
            failures=dict(self.failures.most_common()),
            pass_at_k=[round(self.pass_at(k), 4) for k in ks],
            pass_hat_k=[round(self.pass_hat(k), 4) for k in ks],
        )

    def add(self, kind: str | None) -> None:
        self.runs += 1
        if kind is None:
            self.passed += 1
        else:
            self.failures[kind] += 1

    def failure_text(self) -> str:
        """``timeout x2, expectation x1`` (most frequent first)."""
        return ", ".join(f"{kind} x{count}" for kind, count in self.failures.most_common())


def _percent(value: float) -> str:
    return f"{value:.0%}"


def pass_at_k(n: int, c: int, k: int) -> float:
    if not 1 <= k <= n or not 0 <= c <= n:
        raise ValueError(f"pass@k needs 1 <= k <= n and 0 <= c <= n (n={n}, c={c}, k={k})")
    return (comb(n, k) - comb(n - c, k)) / comb(n, k)  # one division of exact integers


def pass_hat_k(n: int, c: int, k: int) -> float:
    if not 1 <= k <= n or not 0 <= c <= n:
        raise ValueError(f"pass^k needs 1 <= k <= n and 0 <= c <= n (n={n}, c={c}, k={k})")
    return comb(c, k) / comb(n, k)


@dataclass(frozen=True)
class Overall:
    """The mean over a variant's scenarios (each at its own k = runs): the suite's pass@k and pass^k."""

    variant: str
    scenarios: int
    k: int
    pass_rate: float
    pass_at_k: float
    pass_hat_k: float

    def figures(self) -> list[str]:
        """The same columns as :meth:`Stability.figures` (no passed/runs for a mean)."""
        return ["", *(_percent(v) for v in (self.pass_rate, self.pass_at_k, self.pass_hat_k))]


def overall(rows: list[Stability]) -> list[Overall]:
    """One :class:`Overall` per variant, in first-seen order (scenario rows only, not turns)."""
    by_variant: dict[str, list[Stability]] = {}
    for row in rows:
        if row.turn is None and row.runs:
            by_variant.setdefault(row.variant, []).append(row)
    return [
        Overall(
            variant=variant,
            scenarios=len(group),
            k=min(row.runs for row in group),
            pass_rate=sum(row.pass_rate for row in group) / len(group),
            pass_at_k=sum(row.pass_at(row.runs) for row in group) / len(group),
            pass_hat_k=sum(row.pass_hat(row.runs) for row in group) / len(group),
        )
        for variant, group in by_variant.items()
    ]


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
