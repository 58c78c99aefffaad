"""Bootstrap 95% confidence intervals for a statistic and for the difference between two samples.

Percentile bootstrap: resample each sample with replacement (independently), recompute the
statistic, and take the 2.5th and 97.5th percentiles of the resampled values. A fixed seed makes
reports reproducible: the same runs always print the same intervals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Sample = npt.NDArray[np.float64]  # shape (n,) or (n, k): one row per observation
Statistic = Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]]  # (B, n[, k]) -> (B,)

N_BOOT = 2000
SEED = 0
_BATCH = 250  # resamples per batch, to bound memory on large samples
CONFIDENCE = 0.95


def percentile(p: float) -> Statistic:
    """The p-th percentile over each resample (numpy's linear method, as in metrics.summarise)."""

    def stat(resamples: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.asarray(np.percentile(resamples, p, axis=1, method="linear"), dtype=np.float64)

    return stat


def mean(resamples: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.asarray(np.mean(resamples, axis=1), dtype=np.float64)


def ratio_of_sums(resamples: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Σ column 0 / max(Σ column 1, 1): pooled WER from (errors, reference words) rows."""
    sums = resamples.sum(axis=1)
    return np.asarray(sums[:, 0] / np.maximum(sums[:, 1], 1.0), dtype=np.float64)


@dataclass(frozen=True, slots=True)
class Interval:
    estimate: float
    low: float
    high: float

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def _resampled(sample: Sample, stat: Statistic, n_boot: int, rng: np.random.Generator) -> Sample:
    out = np.empty(n_boot, dtype=np.float64)
    n = len(sample)
    for start in range(0, n_boot, _BATCH):
        size = min(_BATCH, n_boot - start)
        index = rng.integers(0, n, size=(size, n))
        out[start : start + size] = stat(sample[index])
    return out


def _bounds(values: Sample) -> tuple[float, float]:
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail], method="linear")
    return float(low), float(high)


def _point(sample: Sample, stat: Statistic) -> float:
    return float(stat(sample[np.newaxis, ...])[0])


def interval(sample: Sample, stat: Statistic, n_boot: int = N_BOOT, seed: int = SEED) -> Interval | None:
    """The statistic and its bootstrap 95% interval; None for an empty sample."""
    sample = np.asarray(sample, dtype=np.float64)
    if len(sample) == 0:
        return None
    rng = np.random.default_rng(seed)
    low, high = _bounds(_resampled(sample, stat, n_boot, rng))
    return Interval(_point(sample, stat), low, high)


def difference(
    baseline: Sample, other: Sample, stat: Statistic, n_boot: int = N_BOOT, seed: int = SEED
) -> Interval | None:
    """``stat(other) - stat(baseline)`` and its bootstrap 95% interval; None if either is empty."""
    a = np.asarray(baseline, dtype=np.float64)
    b = np.asarray(other, dtype=np.float64)
    if len(a) == 0 or len(b) == 0:
        return None
    rng = np.random.default_rng(seed)
    deltas = _resampled(b, stat, n_boot, rng) - _resampled(a, stat, n_boot, rng)
    low, high = _bounds(deltas)
    return Interval(_point(b, stat) - _point(a, stat), low, high)
