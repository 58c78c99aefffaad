"""Thresholds parse as k6 users write them; every malformed one is one line naming it and the fix."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.errors import UsageError
from harness.load.histograms import MetricHistograms
from harness.load.stats import Counters
from harness.load.thresholds import parse_threshold


@pytest.mark.parametrize(
    ("expression", "metric", "aggregate", "op", "bound"),
    [
        ("first_audio_ms:p95<1500", "first_audio_ms", "p95", "<", 1500.0),
        ("first_audio_ms:p(95)<1500", "first_audio_ms", "p95", "<", 1500.0),
        ("connect_ms:p99<=800", "connect_ms", "p99", "<=", 800.0),
        ("send_lag_ms:max<20", "send_lag_ms", "max", "<", 20.0),
        ("voice_to_voice_ms:avg < 900", "voice_to_voice_ms", "mean", "<", 900.0),
        ("error_rate<0.01", "error_rate", None, "<", 0.01),
    ],
)
def test_k6_style_expressions(
    expression: str, metric: str, aggregate: str | None, op: str, bound: float
) -> None:
    threshold = parse_threshold(expression)
    assert (threshold.metric, threshold.aggregate, threshold.op, threshold.bound) == (
        metric,
        aggregate,
        op,
        bound,
    )


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("first_audio_ms<1500", "give an aggregate"),
        ("first_audio:p95<1500", "unknown metric 'first_audio'"),
        ("first_audio_ms:p97<1500", "aggregate 'p97'"),
        ("error_rate:p95<0.1", "error_rate takes no aggregate"),
        ("first_audio_ms:p95 1500", "expected METRIC:AGGREGATE<VALUE"),
    ],
)
def test_bad_expressions_are_one_line_usage_errors(expression: str, problem: str) -> None:
    with pytest.raises(UsageError, match=problem) as raised:
        parse_threshold(expression)
    message = str(raised.value)
    assert "\n" not in message and message.startswith(f"--threshold {expression!r}")


@given(st.text(max_size=60))
def test_any_text_is_a_threshold_or_one_usage_error_line(text: str) -> None:
    try:
        parse_threshold(text)
    except UsageError as exc:
        assert "\n" not in str(exc).replace(repr(text), "")


def test_a_threshold_checks_merged_histograms_and_error_rate() -> None:
    histograms = MetricHistograms()
    for value in range(1, 101):
        histograms.record("first_audio_ms", float(value))
    assert parse_threshold("first_audio_ms:p95<96").check(histograms, Counters()).passed
    result = parse_threshold("first_audio_ms:p95<90").check(histograms, Counters())
    assert not result.passed and result.measured == pytest.approx(95, abs=0.1)
    assert result.describe().startswith("✗ first_audio_ms:p95<90  p95=")
    failing = Counters(sessions_completed=98, sessions_failed=2)
    assert not parse_threshold("error_rate<0.01").check(histograms, failing).passed
    assert parse_threshold("error_rate<=0.02").check(histograms, failing).passed
    assert not parse_threshold("connect_ms:p95<1").check(histograms, failing).passed  # not measured
