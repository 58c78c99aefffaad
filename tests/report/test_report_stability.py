"""Repeats: pass rate, pass@k and pass^k per scenario and turn, flaky marking, failure kinds with counts."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.report.model import FailureKind, ScenarioReport, TurnReport
from harness.report.stability import failure_kind, pass_at_k, pass_hat_k, stability

if TYPE_CHECKING:
    from tests.support.reports import ReportFactory


@pytest.fixture
def turn(reports: ReportFactory) -> Callable[..., TurnReport]:
    def make(index: int, *, verdict: str | None = None, error: FailureKind | None = None) -> TurnReport:
        report = reports.turn(index)
        if verdict:
            report.verdicts = [reports.verdict(verdict, passed=False)]
            report.failure_kind = FailureKind.EXPECTATION
        if error:
            report.error, report.failure_kind = "boom", error
        return report

    return make


@pytest.fixture
def session(reports: ReportFactory) -> Callable[..., ScenarioReport]:
    def make(repeat: int, turns: list[TurnReport], **extra: object) -> ScenarioReport:
        return reports.scenario(
            name="smoke", instance=f"smoke/r{repeat + 1}", repeat=repeat, turns=turns, **extra
        )

    return make


def test_pass_rates_flaky_turns_and_failure_kinds(
    reports: ReportFactory, turn: Callable[..., TurnReport], session: Callable[..., ScenarioReport]
) -> None:
    report = reports.run(
        model="m",
        repeat=4,
        scenarios=[
            session(0, [turn(0), turn(1)]),
            session(1, [turn(0), turn(1, verdict="audio_not_silent")]),
            session(2, [turn(0, error=FailureKind.TIMEOUT)]),  # stopped: turn 1 never ran
            session(3, [], error="refused", failure_kind=FailureKind.CONNECT),
        ],
    )
    rows = {(row.scenario, row.turn): row for row in stability(report)}
    whole, first, second = rows[("smoke", None)], rows[("smoke", "t0")], rows[("smoke", "t1")]
    assert (whole.passed, whole.runs, whole.flaky) == (1, 4, True)
    assert whole.failures == {"audio": 1, "timeout": 1, "connect": 1}
    assert (first.passed, first.runs, first.pass_rate) == (2, 4, 0.5)
    assert first.failures == {"timeout": 1, "connect": 1}
    assert (second.passed, second.runs) == (1, 4)
    assert second.failures == {"audio": 1, "not run": 1, "connect": 1}
    assert second.failure_text().startswith("audio x1")


def test_failure_kind_classifies_expectations(turn: Callable[..., TurnReport]) -> None:
    assert failure_kind(turn(0)) is None
    assert failure_kind(turn(0, verdict="audio_not_silent")) == "audio"
    assert failure_kind(turn(0, verdict="max_input_wer")) == "expectation"
    assert failure_kind(turn(0, error=FailureKind.PROTOCOL)) == "protocol"


@given(st.integers(1, 12).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n), st.integers(1, n))))
def test_pass_at_k_and_pass_hat_k_are_the_chances_over_every_choice_of_k_runs(
    nck: tuple[int, int, int],
) -> None:
    """Over all C(n, k) ways to pick k of the n runs: the share with a pass, the share all passing."""
    n, c, k = nck
    outcomes = [True] * c + [False] * (n - c)
    picks = list(itertools.combinations(outcomes, k))
    assert pass_at_k(n, c, k) == pytest.approx(sum(any(p) for p in picks) / len(picks))
    assert pass_hat_k(n, c, k) == pytest.approx(sum(all(p) for p in picks) / len(picks))
    assert pass_hat_k(n, c, k) <= c / n <= pass_at_k(n, c, k)
    with pytest.raises(ValueError):
        pass_at_k(n, c, n + 1)
