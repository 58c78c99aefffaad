"""Known answers for latency summaries (numpy linear-interpolation percentiles)."""

from __future__ import annotations

import math

import pytest

from harness.metrics import LatencyStats, summarise


def test_linear_percentiles() -> None:
    stats = summarise([4.0, 1.0, 3.0, 2.0])
    assert stats.count == 4
    assert stats.mean == 2.5
    assert stats.p50 == 2.5
    assert stats.p90 == pytest.approx(3.7)  # rank 0.9 * 3 = 2.7 -> 3 + 0.7
    assert stats.p95 == pytest.approx(3.85)
    assert stats.p99 == pytest.approx(3.97)
    assert (stats.min, stats.max) == (1.0, 4.0)


def test_empty_and_missing_values() -> None:
    assert summarise([]) == LatencyStats(0, None, None, None, None, None, None, None)
    assert summarise([None, math.nan]).count == 0
    one = summarise([None, 120.0, math.nan])
    assert one == LatencyStats(1, 120.0, 120.0, 120.0, 120.0, 120.0, 120.0, 120.0)
    assert one.to_dict()["p99"] == 120.0
