"""Pass/fail thresholds on a load run, written as k6 users write them.

``first_audio_ms:p95<1500``, ``connect_ms:p99<=800``, ``send_lag_ms:max<20``, ``error_rate<0.01``.
A metric is any latency metric of the timeline (``docs/metrics.md``), ``send_lag_ms``,
``connect_ms`` (the whole connect) or ``error_rate``; an aggregate is p50, p90, p95, p99, max or
mean (k6's ``p(95)`` is accepted too). Hand-parsed: the grammar is one comparison, and every
mistake must come back as one line naming the expression and the fix.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from harness.errors import UsageError
from harness.load.histograms import AGGREGATES, MetricHistograms
from harness.load.stats import CONNECT, SEND_LAG, Counters
from harness.protocol import ConnectMetric, TurnMetric

ERROR_RATE = "error_rate"
_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
_EXPRESSION = re.compile(
    r"^\s*(?P<metric>[a-z0-9_]+)\s*(?::\s*(?P<agg>p\(\d+\)|p\d+|max|mean|avg))?\s*"
    r"(?P<op><=|>=|<|>)\s*(?P<bound>[0-9]*\.?[0-9]+)\s*$"
)


def latency_metrics() -> list[str]:
    return sorted({*(m.value for m in TurnMetric), *(m.value for m in ConnectMetric), SEND_LAG, CONNECT})


@dataclass(frozen=True)
class Threshold:
    expression: str
    metric: str
    aggregate: str | None  # None for error_rate
    op: str
    bound: float

    @property
    def histogram_metric(self) -> str:
        return "connect_total_ms" if self.metric == CONNECT else self.metric

    def measure(self, histograms: MetricHistograms, counters: Counters) -> float | None:
        if self.metric == ERROR_RATE:
            return round(counters.error_rate, 6)
        assert self.aggregate is not None
        return histograms.summary(self.histogram_metric)[self.aggregate]

    def holds(self, measured: float | None) -> bool:
        return measured is not None and _OPERATORS[self.op](measured, self.bound)

    def check(self, histograms: MetricHistograms, counters: Counters) -> ThresholdResult:
        measured = self.measure(histograms, counters)
        return ThresholdResult(self, measured, self.holds(measured))


@dataclass(frozen=True)
class ThresholdResult:
    threshold: Threshold
    measured: float | None
    passed: bool

    def describe(self) -> str:
        """``✓ first_audio_ms:p95<1500  p95=812.4 ms`` (k6's end-summary line)."""
        mark = "✓" if self.passed else "✗"
        t = self.threshold
        if self.measured is None:
            value = "not measured"
        elif t.metric == ERROR_RATE:
            value = f"error_rate={self.measured:.4f}"
        else:
            value = f"{t.aggregate}={self.measured:g} ms"
        return f"{mark} {t.expression}  {value}"

    def to_dict(self) -> dict[str, object]:
        return {
            "expression": self.threshold.expression,
            "measured": self.measured,
            "passed": self.passed,
        }


def parse_threshold(expression: str) -> Threshold:
    """One threshold; a :class:`UsageError` names what is wrong and how to write it."""
    found = _EXPRESSION.match(expression)
    example = "e.g. 'first_audio_ms:p95<1500' or 'error_rate<0.01'"
    if found is None:
        raise UsageError(f"--threshold {expression!r}: expected METRIC:AGGREGATE<VALUE, {example}")
    metric, aggregate = found["metric"], found["agg"]
    if metric == ERROR_RATE:
        if aggregate is not None:
            raise UsageError(f"--threshold {expression!r}: error_rate takes no aggregate, {example}")
    else:
        if metric not in latency_metrics():
            raise UsageError(
                f"--threshold {expression!r}: unknown metric {metric!r}; use error_rate or one of "
                + ", ".join(latency_metrics())
            )
        if aggregate is None:
            aggregates = ", ".join(AGGREGATES)
            raise UsageError(f"--threshold {expression!r}: give an aggregate ({aggregates}), {example}")
        aggregate = _normalise_aggregate(aggregate, expression)
    return Threshold(expression.strip(), metric, aggregate, found["op"], float(found["bound"]))


def _normalise_aggregate(aggregate: str, expression: str) -> str:
    if aggregate == "avg":
        return "mean"
    if aggregate.startswith("p("):
        aggregate = "p" + aggregate[2:-1]
    if aggregate not in AGGREGATES:
        aggregates = ", ".join(AGGREGATES)
        raise UsageError(f"--threshold {expression!r}: aggregate {aggregate!r}; use one of {aggregates}")
    return aggregate


def parse_thresholds(expressions: Sequence[str]) -> list[Threshold]:
    return [parse_threshold(expression) for expression in expressions]
