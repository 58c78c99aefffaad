"""Expectations -> verdicts: each bound set in the scenario yields one pass/fail with the measured
value and the bound. A value that could not be measured fails its bound (and says so)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from harness.metrics import PooledWer, WerScore, contains_phrase, matches_regex, summarise
from harness.protocol import ServerEventType
from harness.report.model import ScenarioReport, TurnReport, Verdict
from harness.scenario import EventPattern, ScenarioExpectations, TurnExpectations

Event = Mapping[str, Any]
_STATS = ("max", "mean", "p50", "p90", "p95", "p99")


def _at_most(name: str, measured: float | None, bound: float, detail: str | None = None) -> Verdict:
    return Verdict(
        name=name,
        passed=measured is not None and measured <= bound,
        measured=measured,
        bound=bound,
        detail=detail if measured is not None else (detail or "not measured"),
    )


def _equals(name: str, measured: Any, bound: Any) -> Verdict:
    return Verdict(name=name, passed=measured == bound, measured=measured, bound=bound)


def _wer(value: WerScore | PooledWer | None) -> float | None:
    return None if value is None else round(float(value.wer), 4)


def event_verdicts(
    seen: Sequence[EventPattern],
    not_seen: Sequence[EventPattern],
    no_errors: bool | None,
    events: Sequence[Event],
) -> list[Verdict]:
    checks: list[Verdict] = []
    for pattern in seen:
        count = sum(pattern.matches(e) for e in events)
        checks.append(
            Verdict(
                name=f"events_seen[{pattern.describe()}]",
                passed=count > 0,
                measured=count,
                bound="at least 1",
            )
        )
    for pattern in not_seen:
        count = sum(pattern.matches(e) for e in events)
        checks.append(_at_most(f"events_not_seen[{pattern.describe()}]", count, 0))
    if no_errors:  # false switches an inherited check off; expect errors with events_seen
        errors = [e for e in events if e.get("type") == ServerEventType.ERROR]
        codes = sorted({str((e.get("error") or {}).get("code")) for e in errors})
        checks.append(
            Verdict(
                name="no_error_events",
                passed=not errors,
                measured=len(errors),
                bound=0,
                detail=", ".join(codes) if codes else None,
            )
        )
    return checks


def _transcript_checks(
    side: str, transcript: str | None, phrases: Sequence[str], pattern: str | None
) -> list[Verdict]:
    checks: list[Verdict] = []
    for phrase in phrases:
        found = transcript is not None and contains_phrase(transcript, phrase)
        checks.append(
            Verdict(name=f"{side}_transcript_contains", passed=found, measured=transcript, bound=phrase)
        )
    if pattern is not None:
        found = transcript is not None and matches_regex(transcript, pattern)
        checks.append(
            Verdict(name=f"{side}_transcript_matches", passed=found, measured=transcript, bound=pattern)
        )
    return checks


def turn_verdicts(expect: TurnExpectations, turn: TurnReport, events: Sequence[Event]) -> list[Verdict]:
    """Check every expectation set on the turn."""
    checks: list[Verdict] = []
    for name, score, bound in (
        ("max_input_wer", turn.input_wer, expect.max_input_wer),
        ("max_output_wer", turn.output_wer, expect.max_output_wer),
        ("max_consistency_wer", turn.consistency_wer, expect.max_consistency_wer),
    ):
        if bound is not None:
            checks.append(_at_most(name, _wer(score), bound))
    if expect.response_status is not None:
        checks.append(_equals("response_status", turn.response_status, expect.response_status))
    if expect.assistant_transcript_not_empty is not None:
        not_empty = bool((turn.assistant_transcript or "").strip())
        checks.append(
            _equals("assistant_transcript_not_empty", not_empty, expect.assistant_transcript_not_empty)
        )
    if expect.audio_not_silent is not None:
        checks.append(_equals("audio_not_silent", turn.audio_received_non_silent, expect.audio_not_silent))
    checks += _transcript_checks(
        "input", turn.user_transcript, expect.input_transcript_contains, expect.input_transcript_matches
    )
    checks += _transcript_checks(
        "output",
        turn.assistant_transcript,
        expect.output_transcript_contains,
        expect.output_transcript_matches,
    )
    for metric, bound in expect.latency_bounds().items():
        checks.append(_at_most(f"latency.{metric}", turn.latencies_ms.get(metric), bound))
    checks += event_verdicts(expect.events_seen, expect.events_not_seen, expect.no_error_events, events)
    return checks


def _metric_values(report: ScenarioReport, metric: str) -> list[float | None]:
    if metric.startswith("connect_"):
        return [report.connect_ms.get(metric)]
    return [turn.latencies_ms.get(metric) for turn in report.turns]


def scenario_verdicts(
    expect: ScenarioExpectations, report: ScenarioReport, events: Sequence[Event]
) -> list[Verdict]:
    """Check the scenario-level expectations over all its turns (and the whole session's events)."""
    checks: list[Verdict] = []
    for name, pooled, bound in (
        ("max_pooled_input_wer", report.pooled_input_wer, expect.max_pooled_input_wer),
        ("max_pooled_output_wer", report.pooled_output_wer, expect.max_pooled_output_wer),
        ("max_pooled_consistency_wer", report.pooled_consistency_wer, expect.max_pooled_consistency_wer),
    ):
        if bound is not None:
            words = None if pooled is None else f"{pooled.reference_words} words"
            checks.append(_at_most(name, _wer(pooled), bound, words))
    for metric, budget in expect.latency.items():
        stats = summarise(_metric_values(report, metric))
        for stat, bound in budget.bounds().items():
            measured = getattr(stats, stat) if stat in _STATS else None
            value = None if measured is None else round(float(measured), 3)
            checks.append(_at_most(f"latency.{metric}.{stat}", value, bound, f"n={stats.count}"))
    checks += event_verdicts(expect.events_seen, expect.events_not_seen, expect.no_error_events, events)
    return checks
