"""Latency histograms that merge exactly across workers (HdrHistogram, 3 significant digits).

Workers record every value into an HdrHistogram per metric and ship it encoded (a compact string,
typically < 1.5 kB); the driver decodes and adds. Percentiles of the merged histogram are those of
all raw samples to within 0.1 %, without shipping the samples. Values are recorded in microseconds
so a 1 ms latency keeps three digits; all histograms share the same bounds (``add`` requires it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 3_600_000_000  # one hour
SIGNIFICANT_DIGITS = 3
AGGREGATES = ("p50", "p90", "p95", "p99", "max", "mean")


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)


def _clamp_us(value_ms: float) -> int:
    return min(HIGHEST_US, max(LOWEST_US, round(value_ms * 1000)))


class MetricHistograms:
    """One histogram per metric name; values in milliseconds in and out."""

    def __init__(self) -> None:
        self.by_metric: dict[str, HdrHistogram] = {}

    def record(self, metric: str, value_ms: float) -> None:
        histogram = self.by_metric.get(metric)
        if histogram is None:
            histogram = self.by_metric[metric] = new_histogram()
        histogram.record_value(_clamp_us(value_ms))

    def encode(self) -> dict[str, str]:
        """Every non-empty histogram, encoded (what a worker ships)."""
        return {
            name: histogram.encode().decode("ascii")
            for name, histogram in self.by_metric.items()
            if histogram.get_total_count()
        }

    def add_encoded(self, encoded: Mapping[str, str]) -> None:
        """Merge shipped histograms into these (exact: counts per bucket add up)."""
        for name, text in encoded.items():
            histogram = self.by_metric.get(name)
            if histogram is None:
                histogram = self.by_metric[name] = new_histogram()
            histogram.decode_and_add(text.encode("ascii"))

    def add(self, other: MetricHistograms) -> None:
        for name, histogram in other.by_metric.items():
            mine = self.by_metric.get(name)
            if mine is None:
                mine = self.by_metric[name] = new_histogram()
            mine.add(histogram)

    def only(self, metrics: Iterable[str]) -> MetricHistograms:
        """These histograms restricted to ``metrics`` (shared, not copied)."""
        subset = MetricHistograms()
        subset.by_metric = {name: self.by_metric[name] for name in metrics if name in self.by_metric}
        return subset

    def count(self, metric: str) -> int:
        histogram = self.by_metric.get(metric)
        return 0 if histogram is None else int(histogram.get_total_count())

    def summary(self, metric: str) -> dict[str, float | None]:
        """count, p50/p90/p95/p99, max and mean in ms (None when nothing was recorded)."""
        histogram = self.by_metric.get(metric)
        count = 0 if histogram is None else int(histogram.get_total_count())
        result: dict[str, float | None] = {"count": float(count)}
        for name in AGGREGATES:
            result[name] = None
        if histogram is None or count == 0:
            return result
        for name in ("p50", "p90", "p95", "p99"):
            result[name] = round(histogram.get_value_at_percentile(float(name[1:])) / 1000, 3)
        result["max"] = round(histogram.get_max_value() / 1000, 3)
        result["mean"] = round(histogram.get_mean_value() / 1000, 3)
        return result

    def summaries(self) -> dict[str, dict[str, float | None]]:
        return {name: self.summary(name) for name in sorted(self.by_metric)}


def merged(parts: Iterable[MetricHistograms]) -> MetricHistograms:
    total = MetricHistograms()
    for part in parts:
        total.add(part)
    return total
