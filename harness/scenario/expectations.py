"""What a turn or a scenario must achieve. Every bound set here becomes one verdict in the report,
with the measured value next to it; a bound whose value could not be measured fails.

Metric names are the report's keys (``docs/metrics.md``), defined once in :mod:`harness.protocol`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, ConfigDict, Field, WithJsonSchema, field_validator, model_validator

from harness.protocol import ConnectMetric, TurnMetric
from harness.scenario._base import HOUR_MS, Shorthand, Strict
from harness.scenario.events import EventPattern

ResponseStatus = Literal["completed", "cancelled", "failed", "incomplete"]
Wer = Annotated[float, Field(ge=0)]
Milliseconds = Annotated[float, Field(gt=0, le=HOUR_MS)]


def _listify(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


Phrases = Annotated[
    list[str],
    BeforeValidator(_listify),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}),
]


def _regex(value: str | None) -> str | None:
    if value is not None:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression: {exc}") from None
    return value


class LatencyBudget(Shorthand):
    """Bounds on a metric's aggregate over the scenario's turns (a bare number bounds the max)."""

    SHORT_FIELD: ClassVar[str] = "max"
    SHORT_SCHEMA: ClassVar[dict[str, Any]] = {
        "type": "number",
        "exclusiveMinimum": 0,
        "maximum": HOUR_MS,
        "description": "bound on the max (ms)",
    }

    max: Milliseconds | None = None
    mean: Milliseconds | None = None
    p50: Milliseconds | None = None
    p90: Milliseconds | None = None
    p95: Milliseconds | None = None
    p99: Milliseconds | None = None

    @model_validator(mode="after")
    def _some_bound(self) -> LatencyBudget:
        if not self.bounds():
            raise ValueError("set at least one of max, mean, p50, p90, p95, p99")
        return self

    def bounds(self) -> dict[str, float]:
        return {name: value for name, value in self.model_dump().items() if value is not None}


class _EventChecks(Strict):
    model_config = ConfigDict(use_enum_values=True)  # latency keys stay plain metric-name strings

    events_seen: list[EventPattern] = Field(
        default_factory=list, description="Server events that must arrive (type, or {event, match})"
    )
    events_not_seen: list[EventPattern] = Field(
        default_factory=list, description="Server events that must not arrive"
    )
    no_error_events: bool | None = Field(
        default=None, description="true: no `error` event may arrive; false switches an inherited check off"
    )


class TurnExpectations(_EventChecks):
    """Checked per turn. Events count from the turn's start to its end (incl. playout)."""

    max_input_wer: Wer | None = Field(default=None, description="User transcript vs `text` (normalised WER)")
    max_output_wer: Wer | None = Field(
        default=None, description="Assistant transcript vs the turn's `reply` (normalised WER)"
    )
    max_consistency_wer: Wer | None = Field(
        default=None,
        description="Offline re-transcription of the captured assistant audio vs the assistant transcript",
    )
    response_status: ResponseStatus | None = None
    assistant_transcript_not_empty: bool | None = None
    audio_not_silent: bool | None = Field(default=None, description="Captured assistant audio has sound")
    input_transcript_contains: Phrases = Field(
        default_factory=list, description="Phrases the user transcript must contain (normalised words)"
    )
    input_transcript_matches: str | None = Field(
        default=None, description="Regex searched in the normalised user transcript"
    )
    output_transcript_contains: Phrases = Field(
        default_factory=list, description="Phrases the assistant transcript must contain (normalised words)"
    )
    output_transcript_matches: str | None = Field(
        default=None, description="Regex searched in the normalised assistant transcript"
    )
    latency: dict[TurnMetric, Milliseconds] = Field(
        default_factory=dict, description="Upper bound per metric in ms, e.g. {first_audio_ms: 1200}"
    )
    max_first_audio_ms: Milliseconds | None = Field(default=None, description="= latency.first_audio_ms")
    max_response_done_ms: Milliseconds | None = Field(default=None, description="= latency.response_done_ms")

    _regexes = field_validator("input_transcript_matches", "output_transcript_matches")(_regex)

    def latency_bounds(self) -> dict[str, float]:
        """``latency`` with the two older spellings folded in (``latency`` wins)."""
        bounds: dict[str, float] = {}
        if self.max_first_audio_ms is not None:
            bounds[TurnMetric.FIRST_AUDIO.value] = self.max_first_audio_ms
        if self.max_response_done_ms is not None:
            bounds[TurnMetric.RESPONSE_DONE.value] = self.max_response_done_ms
        bounds.update({str(name): value for name, value in self.latency.items()})
        return bounds


class ScenarioExpectations(_EventChecks):
    """Checked once per scenario over all its turns. Events count over the whole session."""

    max_pooled_input_wer: Wer | None = Field(default=None, description="Corpus WER of all user transcripts")
    max_pooled_output_wer: Wer | None = Field(
        default=None, description="Corpus WER of all assistant transcripts vs their `reply`"
    )
    max_pooled_consistency_wer: Wer | None = None
    latency: dict[TurnMetric | ConnectMetric, LatencyBudget] = Field(
        default_factory=dict,
        description="Per metric: bounds on max/mean/p50/p90/p95/p99 over the turns, e.g. "
        "{first_audio_ms: {p95: 1200}}; a bare number bounds the max",
    )
