"""The driver's schedule and the breakpoint's judgement, without any session."""

from __future__ import annotations

from harness.load.driver import LoadOptions, users_at
from harness.load.histograms import MetricHistograms
from harness.load.placement import spread
from harness.load.summary import LevelResult
from harness.load.thresholds import parse_threshold
from harness.runner import RunOptions


def test_users_are_spread_evenly_over_workers() -> None:
    assert spread(7, 3) == [3, 2, 2]
    assert spread(2, 4) == [1, 1, 0, 0]
    assert all(sum(spread(n, w)) == n for n in range(50) for w in range(1, 9))


def test_ramp_up_is_linear_and_reaches_every_user() -> None:
    options = LoadOptions(run=RunOptions(), users=10, ramp_up_s=10.0)
    assert [users_at(options, t) for t in (0.0, 0.5, 5.0, 9.99, 10.0, 60.0)] == [0, 1, 5, 10, 10, 10]
    assert users_at(LoadOptions(run=RunOptions(), users=10), 0.0) == 10


def test_a_level_holds_only_when_its_threshold_holds_on_what_it_measured() -> None:
    threshold = parse_threshold("first_audio_ms:p95<1000")
    fast, slow = MetricHistograms(), MetricHistograms()
    for value in range(100, 200):
        fast.record("first_audio_ms", value)
        slow.record("first_audio_ms", value * 10)
    assert LevelResult.measure(10, fast, failed=0, finished=20, threshold=threshold).held
    assert not LevelResult.measure(20, slow, failed=0, finished=20, threshold=threshold).held
    nothing = LevelResult.measure(30, MetricHistograms(), failed=0, finished=0, threshold=threshold)
    assert not nothing.held and nothing.measured is None  # an unmeasured level never "held"
    errors = LevelResult.measure(40, fast, failed=3, finished=20, threshold=parse_threshold("error_rate<0.1"))
    assert not errors.held and errors.error_rate == 0.15
