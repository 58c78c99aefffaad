"""Turn a scenario's timeline and captured audio into report entries with verdicts.

Per turn: transcripts (looked up by id), input WER (user transcript vs ``text``), output WER
(assistant transcript vs ``reply``), output consistency (the captured audio re-transcribed offline
vs the assistant transcript), latencies and verdicts. Per scenario and per run: pooled WERs and
latency summaries.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness.metrics import (
    TurnLatency,
    WerScore,
    pooled_wer,
    recognise,
    score_wer,
    session_latency,
    summarise,
)
from harness.report.model import FailureKind, RunReport, ScenarioReport, TurnReport
from harness.runner.transcripts import (
    ReceivedEvents,
    assistant_transcript,
    response_status,
    user_transcript,
)
from harness.runner.turns import TurnOutcome
from harness.runner.verdicts import scenario_verdicts, turn_verdicts
from harness.scenario import Scenario
from harness.timeline import Timeline

Recogniser = Callable[[Path], str]


def _relative(path: Path | None, root: Path) -> str | None:
    if path is None:
        return None
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def _consistency(report: TurnReport, captured: Path | None, recogniser: Recogniser) -> WerScore | None:
    """Re-transcribe the reply's audio when there is one whole reply to compare with its transcript."""
    transcript = (report.assistant_transcript or "").strip()
    if captured is None or not report.audio_received_non_silent or not transcript:
        return None
    if report.response_status != "completed":
        return None  # an interrupted reply's audio stops mid-word; its transcript may not
    report.audio_transcript = recogniser(captured)
    return score_wer(transcript, report.audio_transcript)


def score_turn(
    scenario: Scenario,
    outcome: TurnOutcome,
    latency: TurnLatency | None,
    events: ReceivedEvents,
    root: Path,
    recogniser: Recogniser = recognise,
) -> TurnReport:
    turn = scenario.turns[outcome.index]
    item_id = latency.item_id if latency else None
    response_id = latency.response_id if latency else None
    captured = outcome.captured
    report = TurnReport(
        index=outcome.index,
        name=outcome.label,
        mode=outcome.mode,
        text=turn.text,
        say=turn.say,
        reply=turn.reply,
        audio_sent=_relative(outcome.audio_sent, root),
        audio_received=_relative(captured.path, root) if captured else None,
        user_transcript=turn.say if turn.say is not None else user_transcript(events, item_id),
        assistant_transcript=assistant_transcript(events, response_id),
        response_id=response_id,
        response_status=response_status(events, response_id),
        audio_received_non_silent=captured.non_silent if captured else None,
        audio_received_peak_dbfs=captured.peak_dbfs if captured else None,
        latencies_ms=dict(latency.metrics) if latency else {},
        error=outcome.error,
        failure_kind=outcome.failure_kind,
    )
    if turn.text is not None and item_id is not None:
        report.input_wer = score_wer(turn.text, report.user_transcript or "").to_dict()
    if turn.reply is not None and response_id is not None:
        report.output_wer = score_wer(turn.reply, report.assistant_transcript or "").to_dict()
    consistency = _consistency(report, captured.path if captured else None, recogniser)
    report.consistency_wer = consistency.to_dict() if consistency else None
    report.verdicts = turn_verdicts(
        scenario.expectations(outcome.index), report, events.of_turn(outcome.index)
    )
    if report.error is None and not report.passed:
        report.failure_kind = FailureKind.EXPECTATION
    return report


def _pooled(records: Sequence[dict[str, Any] | None]) -> dict[str, Any] | None:
    scores = [WerScore.from_dict(record) for record in records if record is not None]
    return pooled_wer(scores).to_dict() if scores else None


def score_scenario(
    scenario: Scenario,
    timeline: Timeline,
    outcomes: Sequence[TurnOutcome],
    root: Path,
    recogniser: Recogniser = recognise,
) -> ScenarioReport:
    entries = timeline.entries
    events = ReceivedEvents(entries)
    latency = session_latency(entries)
    by_turn = {turn.turn: turn for turn in latency.turns}
    report = ScenarioReport(
        name=scenario.name,
        source=str(scenario.source) if scenario.source else None,
        tags=list(scenario.tags),
        connect_ms=dict(latency.connect),
        error_events=len(events.of_type("error")),
    )
    for outcome in outcomes:
        report.turns.append(
            score_turn(scenario, outcome, by_turn.get(outcome.index), events, root, recogniser)
        )
    report.pooled_input_wer = _pooled([t.input_wer for t in report.turns])
    report.pooled_output_wer = _pooled([t.output_wer for t in report.turns])
    report.pooled_consistency_wer = _pooled([t.consistency_wer for t in report.turns])
    report.verdicts = scenario_verdicts(scenario.expect, report, events.of_turn(None))
    if report.error is None and report.failure_kind is None and not report.passed:
        report.failure_kind = FailureKind.EXPECTATION
    return report


def score_run(report: RunReport) -> RunReport:
    """Fill the run-level aggregates (pooled WERs, latency percentiles) from the scenario reports."""
    turns = [turn for scenario in report.scenarios for turn in scenario.turns]
    report.pooled_input_wer = _pooled([t.input_wer for t in turns])
    report.pooled_output_wer = _pooled([t.output_wer for t in turns])
    report.pooled_consistency_wer = _pooled([t.consistency_wer for t in turns])
    samples: dict[str, list[float]] = {}
    for scenario in report.scenarios:
        for name, value in scenario.connect_ms.items():
            if value is not None:
                samples.setdefault(name, []).append(value)
    for turn in turns:
        for name, value in turn.latencies_ms.items():
            if value is not None:
                samples.setdefault(name, []).append(value)
    report.latency_summary_ms = {
        name: summarise(values).to_dict() for name, values in sorted(samples.items())
    }
    return report
