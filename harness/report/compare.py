"""Compare configurations side by side: latency percentiles, WER, pass rate, tokens and cost.

A configuration (a :class:`Group`) is one matrix variant of one run, or a whole run. The first
group is the baseline; every other cell carries its delta to the baseline with a bootstrap 95%
interval (bootstrap.py), so "B is 40 ms slower" comes with how sure we are of it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from harness.protocol import ConnectMetric, TurnMetric
from harness.report import bootstrap
from harness.report.bootstrap import Interval, Sample, Statistic
from harness.report.model import RunReport, ScenarioReport, TurnReport
from harness.report.stability import variant_label

KEY_METRICS: tuple[str, ...] = (
    TurnMetric.VOICE_TO_VOICE,
    TurnMetric.FIRST_AUDIO,
    TurnMetric.RESPONSE_DONE,
    TurnMetric.AUDIO_STARTED,
    TurnMetric.COMMIT_TO_TRANSCRIPT,
    ConnectMetric.TOTAL,
)
PERCENTILES = (50, 90, 95)


@dataclass
class Group:
    label: str
    run_id: str
    scenarios: list[ScenarioReport] = field(default_factory=list)

    @property
    def turns(self) -> list[TurnReport]:
        return [turn for scenario in self.scenarios for turn in scenario.turns]

    def latencies(self, metric: str) -> Sample:
        values = [turn.latencies_ms.get(metric) for turn in self.turns]
        values += [scenario.connect_ms.get(metric) for scenario in self.scenarios]
        return np.array([v for v in values if v is not None], dtype=np.float64)

    def metrics(self) -> set[str]:
        names = {name for turn in self.turns for name, v in turn.latencies_ms.items() if v is not None}
        return names | {name for s in self.scenarios for name, v in s.connect_ms.items() if v is not None}

    def wer_counts(self) -> Sample:
        """(errors, reference words) per turn scored for input WER."""
        rows = [(w.errors, w.reference_words) for turn in self.turns if (w := turn.input_wer) is not None]
        return np.array(rows, dtype=np.float64).reshape(-1, 2)

    def outcomes(self) -> Sample:
        """1.0 per passed turn, 0.0 per failed one; a session that ran no turn counts as one failure."""
        values = [float(turn.passed) for turn in self.turns]
        values += [0.0 for scenario in self.scenarios if not scenario.turns]
        return np.array(values, dtype=np.float64)

    def tokens(self) -> Sample:
        return np.array([t.usage.total_tokens for t in self.turns if t.usage], dtype=np.float64)

    def costs(self) -> Sample:
        return np.array(
            [t.usage.cost_usd for t in self.turns if t.usage and t.usage.cost_usd is not None],
            dtype=np.float64,
        )

    @property
    def total_tokens(self) -> int:
        return sum(s.usage.total_tokens for s in self.scenarios if s.usage)

    @property
    def total_cost(self) -> float | None:
        costs = [s.usage.cost_usd for s in self.scenarios if s.usage]
        return sum(c for c in costs if c is not None) if costs and None not in costs else None


# Fewer values than this on either side and no delta is called better or worse: one value per side
# bootstraps to a zero-width interval, which "excludes zero" for any difference at all.
MIN_SAMPLES = 2


@dataclass
class Cell:
    value: Interval | None
    delta: Interval | None = None  # None for the baseline
    samples: int = 0  # how many values the cell's figure is from


@dataclass
class Row:
    section: str  # latency | quality | usage
    metric: str
    stat: str  # p50, p90, p95, rate, pooled, mean
    unit: str  # ms, %, USD, tokens, ratio
    lower_is_better: bool
    cells: list[Cell]

    @property
    def name(self) -> str:
        return f"{self.metric} {self.stat}" if self.section == "latency" else self.metric

    def verdict(self, index: int) -> str:
        """``better``/``worse`` when the delta's interval excludes zero, else ``same``."""
        delta = self.cells[index].delta
        too_few = min(self.cells[0].samples, self.cells[index].samples) < MIN_SAMPLES
        if delta is None or too_few or not delta.excludes_zero:
            return "same"
        return "better" if (delta.estimate < 0) == self.lower_is_better else "worse"


@dataclass
class Comparison:
    groups: list[Group]
    rows: list[Row]
    n_boot: int
    seed: int

    def key_rows(self) -> list[Row]:
        """The rows a terminal shows: key latency metrics at p50/p90, then quality and usage."""
        return [
            row
            for row in self.rows
            if row.section != "latency" or (row.metric in KEY_METRICS and row.stat in ("p50", "p90"))
        ]


def groups_from_runs(runs: Sequence[RunReport]) -> list[Group]:
    """One group per variant of one run; with several runs, per run (and variant, if it has more)."""
    groups: dict[tuple[str, str], Group] = {}
    for run in runs:
        labels = {variant_label(s) for s in run.scenarios if s.name != "<target>"}
        for scenario in run.scenarios:
            variant = variant_label(scenario) if len(labels) > 1 else ""
            label = (variant or run.run_id) if len(runs) == 1 else f"{run.run_id} {variant}".strip()
            group = groups.setdefault((run.run_id, label), Group(label=label, run_id=run.run_id))
            group.scenarios.append(scenario)
    return list(groups.values())


def ordered_metrics(groups: Sequence[Group]) -> list[str]:
    present = set().union(*(g.metrics() for g in groups)) if groups else set()
    return [m for m in KEY_METRICS if m in present] + sorted(present - set(KEY_METRICS))


def _latencies_of(metric: str) -> Callable[[Group], Sample]:
    def sample(group: Group) -> Sample:
        return group.latencies(metric)

    return sample


def _row(
    groups: Sequence[Group],
    sample_of: Callable[[Group], Sample],
    stat: Statistic,
    spec: tuple[str, str, str, str, bool],
    n_boot: int,
    seed: int,
) -> Row:
    section, metric, stat_name, unit, lower_is_better = spec
    samples = [sample_of(group) for group in groups]
    cells = [Cell(bootstrap.interval(samples[0], stat, n_boot, seed), samples=len(samples[0]))]
    for sample in samples[1:]:
        cells.append(
            Cell(
                bootstrap.interval(sample, stat, n_boot, seed),
                bootstrap.difference(samples[0], sample, stat, n_boot, seed),
                samples=len(sample),
            )
        )
    return Row(section, metric, stat_name, unit, lower_is_better, cells)


def compare(
    groups: Sequence[Group], n_boot: int = bootstrap.N_BOOT, seed: int = bootstrap.SEED
) -> Comparison:
    """Every row for every group; the first group is the baseline of the deltas."""
    rows: list[Row] = []
    for metric in ordered_metrics(groups):
        for p in PERCENTILES:
            rows.append(
                _row(
                    groups,
                    _latencies_of(metric),
                    bootstrap.percentile(p),
                    ("latency", metric, f"p{p}", "ms", True),
                    n_boot,
                    seed,
                )
            )
    rows.append(
        _row(
            groups, Group.outcomes, bootstrap.mean, ("quality", "pass rate", "rate", "%", False), n_boot, seed
        )
    )
    rows.append(
        _row(
            groups,
            Group.wer_counts,
            bootstrap.ratio_of_sums,
            ("quality", "input WER", "pooled", "ratio", True),
            n_boot,
            seed,
        )
    )
    rows.append(
        _row(
            groups,
            Group.tokens,
            bootstrap.mean,
            ("usage", "tokens per turn", "mean", "tokens", True),
            n_boot,
            seed,
        )
    )
    rows.append(
        _row(
            groups, Group.costs, bootstrap.mean, ("usage", "cost per turn", "mean", "USD", True), n_boot, seed
        )
    )
    return Comparison(list(groups), rows, n_boot, seed)
