"""Summary statistics of a latency sample (one metric over turns or sessions).

Percentiles use numpy's default ``method="linear"`` (Hyndman & Fan type 7, as R's default and
Excel's PERCENTILE.INC): the p-th percentile of n sorted values sits at rank ``(n - 1) * p / 100``,
interpolated linearly between the neighbouring values. So p50 of ``[1, 2, 3, 4]`` is 2.5, and every
percentile of a single value is that value.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True, slots=True)
class LatencyStats:
    """Count and summary of the values given; every figure is None when there were none."""

    count: int
    mean: float | None
    p50: float | None
    p90: float | None
    p95: float | None
    p99: float | None
    min: float | None
    max: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarise(values: Iterable[float | None]) -> LatencyStats:
    """Summarise the values, skipping None and NaN (a metric that did not apply to that turn)."""
    sample = np.array([v for v in values if v is not None and not math.isnan(v)], dtype=np.float64)
    if sample.size == 0:
        return LatencyStats(0, None, None, None, None, None, None, None)
    p50, p90, p95, p99 = (float(v) for v in np.percentile(sample, [50, 90, 95, 99], method="linear"))
    return LatencyStats(
        count=int(sample.size),
        mean=float(np.mean(sample)),
        p50=p50,
        p90=p90,
        p95=p95,
        p99=p99,
        min=float(np.min(sample)),
        max=float(np.max(sample)),
    )
