"""Percentiles merged from per-worker HDR histograms equal those of all raw samples together."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.load.histograms import MetricHistograms, merged

samples = st.lists(st.floats(min_value=0.01, max_value=60_000.0), min_size=1, max_size=300)


@settings(max_examples=50, deadline=None)
@given(st.lists(samples, min_size=1, max_size=4))
def test_merged_percentiles_match_the_raw_samples(parts: list[list[float]]) -> None:
    shipped = []
    for values in parts:  # each worker records, encodes and ships its histogram
        worker = MetricHistograms()
        for value in values:
            worker.record("first_audio_ms", value)
        received = MetricHistograms()
        received.add_encoded(worker.encode())
        shipped.append(received)
    total = merged(shipped)
    everything = np.sort(np.array([v for values in parts for v in values]))
    summary = total.summary("first_audio_ms")
    assert summary["count"] == len(everything)
    for name, q in (("p50", 50), ("p95", 95), ("p99", 99)):
        got = summary[name]
        assert got is not None
        # Nearest-rank definitions differ by one rank (HdrHistogram rounds q*n, numpy takes the
        # ceiling): the merged figure is the sample at one of those ranks, to 3 significant digits.
        rank = int(np.ceil(q / 100 * len(everything)))
        candidates = everything[max(0, rank - 2) : max(1, rank)]
        assert any(close(got, float(value)) for value in candidates), (got, candidates)
    assert summary["max"] is not None and close(summary["max"], float(everything[-1]))


def close(measured: float, exact: float) -> bool:
    return abs(measured - exact) <= max(0.002 * exact, 0.002)  # 3 significant digits, 1 us floor
