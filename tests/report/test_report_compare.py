"""Comparison of configurations: known deltas and bootstrap intervals on synthetic runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from harness.metrics import score_wer
from harness.report import bootstrap
from harness.report.compare import Group, compare, groups_from_runs
from harness.report.model import RunReport, TokenUsage, TurnReport

if TYPE_CHECKING:
    from tests.support.cli import Cli
    from tests.support.reports import ReportFactory

TEN_WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"]


@pytest.fixture
def turn(reports: ReportFactory) -> Callable[..., TurnReport]:
    def make(
        index: int, first_audio: float, *, passed: bool = True, errors: int = 0, cost: float = 0.01
    ) -> TurnReport:
        return reports.turn(
            index,
            latencies_ms={"first_audio_ms": first_audio},
            verdicts=[reports.verdict("max_first_audio_ms", passed, measured=first_audio, bound=1000)],
            input_wer=score_wer(" ".join(TEN_WORDS), " ".join(["wrong"] * errors + TEN_WORDS[errors:])),
            usage=TokenUsage(responses=1, input_audio=100, output_audio=200, cost_usd=cost),
        )

    return make


@pytest.fixture
def run(reports: ReportFactory) -> Callable[..., RunReport]:
    def make(run_id: str, turns: list[TurnReport], variant: dict[str, str] | None = None) -> RunReport:
        scenario = reports.scenario(turns=turns, variant=variant or {})
        return reports.run(run_id=run_id, scenarios=[scenario])

    return make


def row(result, metric: str, stat: str):  # type: ignore[no-untyped-def]
    return next(r for r in result.rows if r.metric == metric and r.stat == stat)


def test_constant_samples_give_the_exact_delta_with_a_zero_width_interval(
    turn: Callable[..., TurnReport], run: Callable[..., RunReport]
) -> None:
    a = run("A", [turn(i, 100.0, errors=1) for i in range(5)])
    b = run("B", [turn(i, 150.0, errors=3, cost=0.02) for i in range(7)])
    result = compare(groups_from_runs([a, b]))
    assert [g.label for g in result.groups] == ["A", "B"]
    p50 = row(result, "first_audio_ms", "p50")
    assert p50.cells[0].value == bootstrap.Interval(100.0, 100.0, 100.0)
    assert p50.cells[1].delta == bootstrap.Interval(50.0, 50.0, 50.0)
    assert p50.verdict(1) == "worse"
    wer = row(result, "input WER", "pooled").cells[1].delta
    assert wer is not None and wer.estimate == pytest.approx(0.2) and wer.low == pytest.approx(0.2)
    cost = row(result, "cost per turn", "mean")
    assert cost.cells[1].delta is not None and cost.cells[1].delta.estimate == pytest.approx(0.01)
    assert cost.verdict(1) == "worse"


def test_two_point_samples_give_the_enumerable_bootstrap_interval(
    turn: Callable[..., TurnReport], run: Callable[..., RunReport]
) -> None:
    # Medians of resamples of {0, 10} are 0, 5, 10 with probability 1/4, 1/2, 1/4, so the
    # difference of two such medians is -10 with probability 1/16 > 2.5%: the 95% interval of
    # the delta between {100, 110} and {0, 10} is exactly [90, 110].
    a = run("A", [turn(0, 0.0), turn(1, 10.0)])
    b = run("B", [turn(0, 100.0), turn(1, 110.0)])
    cell = row(compare(groups_from_runs([a, b])), "first_audio_ms", "p50").cells[1]
    assert cell.delta == bootstrap.Interval(100.0, 90.0, 110.0)
    assert cell.value == bootstrap.Interval(105.0, 100.0, 110.0)


def test_pass_rate_delta_is_in_percentage_points_and_higher_is_better(
    turn: Callable[..., TurnReport], run: Callable[..., RunReport]
) -> None:
    a = run("A", [turn(i, 100.0) for i in range(4)])
    b = run("B", [turn(0, 100.0), turn(1, 100.0, passed=False), turn(2, 100.0), turn(3, 100.0, passed=False)])
    rate = row(compare(groups_from_runs([a, b])), "pass rate", "rate")
    assert rate.cells[0].value is not None and rate.cells[0].value.estimate == 1.0
    # A always passes; B's resampled pass rate is k/4 with k ~ Binomial(4, 1/2), so both tails
    # (k = 0 and k = 4, 1/16 each) are wider than 2.5%: the interval is exactly [-100, 0] pp.
    assert rate.cells[1].delta == bootstrap.Interval(-0.5, -1.0, 0.0)
    assert rate.verdict(1) == "same"  # the interval touches zero: not a significant change


def test_interval_covers_a_known_shift_and_is_reproducible() -> None:
    rng = np.random.default_rng(42)
    base = rng.gamma(4.0, 100.0, size=200)
    shifted = base + 80.0
    first = bootstrap.difference(base, shifted, bootstrap.percentile(50))
    again = bootstrap.difference(base, shifted, bootstrap.percentile(50))
    assert first == again  # fixed seed
    assert first is not None and first.estimate == pytest.approx(80.0)
    assert first.low < 80.0 < first.high
    assert bootstrap.difference(base, np.array([]), bootstrap.mean) is None


def test_one_matrix_run_compares_its_variants(tmp_path: Path, reports: ReportFactory) -> None:
    variants = [{"model": "gpt-realtime"}, {"model": "gpt-realtime-mini"}]
    data = reports.write_run(tmp_path, variants=variants, first_audio=lambda v, r, t: 800.0 + 200 * v)
    from harness.report.run_data import load_run

    groups = groups_from_runs([load_run(data).report])
    assert [g.label for g in groups] == ["model=gpt-realtime", "model=gpt-realtime-mini"]
    assert all(isinstance(g, Group) and len(g.turns) == 2 for g in groups)
    delta = row(compare(groups), "first_audio_ms", "p50").cells[1].delta
    assert delta == bootstrap.Interval(200.0, 200.0, 200.0)


def test_rth_compare_prints_the_table_and_writes_markdown_and_html(
    tmp_path: Path, run_cli: Cli, reports: ReportFactory
) -> None:
    a = reports.write_run(tmp_path, run_id="20250101-000000-aaaa")
    b = reports.write_run(tmp_path, run_id="20250102-000000-bbbb", first_audio=lambda v, r, t: 900.0 + t)
    result = run_cli("compare", str(a), str(b), "--resamples", "200")
    assert result.exit_code == 0, result.output
    assert "20250102-000000-bbbb" in result.output and "first_audio_ms p50" in result.output
    out = tmp_path / "compare-20250101-000000-aaaa-vs-20250102-000000-bbbb"
    markdown = (out / "compare.md").read_text()
    assert "| first_audio_ms p50 | 800 [800, 801] | 900 (Δ +100 [+99, +101]) 🔴 |" in markdown
    html = (out / "compare.html").read_text()
    assert 'data-plot="compare"' in html and 'data-table="compare"' in html


def test_rth_compare_of_a_single_configuration_is_a_usage_error(
    tmp_path: Path, run_cli: Cli, reports: ReportFactory
) -> None:
    only = reports.write_run(tmp_path)
    result = run_cli("compare", str(only))
    assert result.exit_code == 2
    assert "only one configuration" in result.output


def test_one_value_per_side_is_never_called_better_or_worse(reports: ReportFactory) -> None:
    """One session per matrix variant bootstraps to a zero-width interval: no verdict from that."""
    one = reports.run(
        run_id="a",
        scenarios=[reports.scenario(turns=[reports.turn(0, latencies_ms={"first_audio_ms": 40.0})])],
    )
    two = reports.run(
        run_id="b",
        scenarios=[reports.scenario(turns=[reports.turn(0, latencies_ms={"first_audio_ms": 33.0})])],
    )
    result = compare(groups_from_runs([one, two]), n_boot=200, seed=0)
    row = next(r for r in result.rows if r.metric == "first_audio_ms" and r.stat == "p50")
    assert row.cells[1].delta is not None and row.cells[1].delta.estimate == -7.0
    assert row.verdict(1) == "same"
