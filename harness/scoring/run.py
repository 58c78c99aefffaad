"""Run-level figures from the scenario reports: pooled WERs and latency percentiles."""

from __future__ import annotations

from collections.abc import Sequence

from harness.metrics import summarise
from harness.report.model import RunReport, ScenarioReport
from harness.scoring.session import pooled


def score_run(report: RunReport, scenarios: Sequence[ScenarioReport]) -> RunReport:
    """``report`` with ``scenarios`` (in plan order) and the aggregates over them."""
    turns = [turn for scenario in scenarios for turn in scenario.turns]
    samples: dict[str, list[float]] = {}
    for scenario in scenarios:
        for name, value in scenario.connect_ms.items():
            if value is not None:
                samples.setdefault(name, []).append(value)
    for turn in turns:
        for name, value in turn.latencies_ms.items():
            if value is not None:
                samples.setdefault(name, []).append(value)
    return report.model_copy(
        update={
            "scenarios": list(scenarios),
            "pooled_input_wer": pooled(t.input_wer for t in turns),
            "pooled_output_wer": pooled(t.output_wer for t in turns),
            "pooled_consistency_wer": pooled(t.consistency_wer for t in turns),
            "latency_summary_ms": {
                name: summarise(values).to_dict() for name, values in sorted(samples.items())
            },
        }
    )
