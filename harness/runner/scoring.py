"""Turn a scenario's timeline and captured audio into report entries with verdicts.

Transcripts are looked up by id (the committed item, the created response), never by position:
input transcription arrives asynchronously, often during the next turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.metrics import TurnLatency, WerScore, pooled_wer, score_wer, session_latency, summarise
from harness.protocol import ServerEventType
from harness.report.model import FailureKind, RunReport, ScenarioReport, TurnReport, Verdict
from harness.runner.turns import TurnOutcome
from harness.scenario import Scenario, TurnExpectations
from harness.timeline import EntryKind, Timeline, TimelineEntry


def _received(entries: Sequence[TimelineEntry], type_: str) -> list[dict[str, Any]]:
    return [e.data for e in entries if e.kind == EntryKind.RECEIVED and e.type == type_]


def user_transcript(entries: Sequence[TimelineEntry], item_id: str | None) -> str | None:
    if item_id is None:
        return None
    for event in _received(entries, ServerEventType.INPUT_TRANSCRIPTION_COMPLETED):
        if event.get("item_id") == item_id:
            return str(event.get("transcript", ""))
    deltas = [
        str(e.get("delta", ""))
        for e in _received(entries, ServerEventType.INPUT_TRANSCRIPTION_DELTA)
        if e.get("item_id") == item_id
    ]
    return "".join(deltas) if deltas else None


def assistant_transcript(entries: Sequence[TimelineEntry], response_id: str | None) -> str | None:
    """The .done transcript (audio) or text of a response; its deltas joined if .done never came."""
    if response_id is None:
        return None
    for done_type, field in (
        (ServerEventType.RESPONSE_OUTPUT_AUDIO_TRANSCRIPT_DONE, "transcript"),
        (ServerEventType.RESPONSE_OUTPUT_TEXT_DONE, "text"),
    ):
        for event in _received(entries, done_type):
            if event.get("response_id") == response_id:
                return str(event.get(field, ""))
    deltas = [
        str(e.get("delta", ""))
        for delta_type in (
            ServerEventType.RESPONSE_OUTPUT_AUDIO_TRANSCRIPT_DELTA,
            ServerEventType.RESPONSE_OUTPUT_TEXT_DELTA,
        )
        for e in _received(entries, delta_type)
        if e.get("response_id") == response_id
    ]
    return "".join(deltas) if deltas else None


def response_status(entries: Sequence[TimelineEntry], response_id: str | None) -> str | None:
    for event in _received(entries, ServerEventType.RESPONSE_DONE):
        response = event.get("response") or {}
        if response.get("id") == response_id:
            return str(response.get("status"))
    return None


def _bounded(name: str, measured: float | None, bound: float) -> Verdict:
    return Verdict(
        name=name, passed=measured is not None and measured <= bound, measured=measured, bound=bound
    )


def verdicts(expect: TurnExpectations, turn: TurnReport, wer: WerScore | None) -> list[Verdict]:
    """Check every expectation set on the turn; a missing measurement fails its check."""
    checks: list[Verdict] = []
    if expect.max_input_wer is not None:
        checks.append(
            _bounded("max_input_wer", None if wer is None else round(wer.wer, 4), expect.max_input_wer)
        )
    if expect.response_status is not None:
        checks.append(
            Verdict(
                name="response_status",
                passed=turn.response_status == expect.response_status,
                measured=turn.response_status,
                bound=expect.response_status,
            )
        )
    if expect.assistant_transcript_not_empty is not None:
        not_empty = bool((turn.assistant_transcript or "").strip())
        checks.append(
            Verdict(
                name="assistant_transcript_not_empty",
                passed=not_empty == expect.assistant_transcript_not_empty,
                measured=not_empty,
                bound=expect.assistant_transcript_not_empty,
            )
        )
    if expect.audio_not_silent is not None:
        checks.append(
            Verdict(
                name="audio_not_silent",
                passed=turn.audio_received_non_silent == expect.audio_not_silent,
                measured=turn.audio_received_non_silent,
                bound=expect.audio_not_silent,
            )
        )
    if expect.max_first_audio_ms is not None:
        checks.append(
            _bounded("max_first_audio_ms", turn.latencies_ms.get("first_audio_ms"), expect.max_first_audio_ms)
        )
    if expect.max_response_done_ms is not None:
        checks.append(
            _bounded(
                "max_response_done_ms", turn.latencies_ms.get("response_done_ms"), expect.max_response_done_ms
            )
        )
    return checks


def _relative(path: Path | None, root: Path) -> str | None:
    if path is None:
        return None
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def score_turn(
    scenario: Scenario,
    outcome: TurnOutcome,
    latency: TurnLatency | None,
    entries: Sequence[TimelineEntry],
    root: Path,
) -> tuple[TurnReport, WerScore | None]:
    turn = scenario.turns[outcome.index]
    item_id = latency.item_id if latency else None
    response_id = latency.response_id if latency else None
    captured = outcome.captured
    report = TurnReport(
        index=outcome.index,
        name=outcome.label,
        text=turn.text,
        audio_sent=_relative(outcome.audio_sent, root),
        audio_received=_relative(captured.path, root) if captured else None,
        user_transcript=user_transcript(entries, item_id),
        assistant_transcript=assistant_transcript(entries, response_id),
        response_id=response_id,
        response_status=response_status(entries, response_id),
        audio_received_non_silent=captured.non_silent if captured else None,
        audio_received_peak_dbfs=captured.peak_dbfs if captured else None,
        latencies_ms=dict(latency.metrics) if latency else {},
        error=outcome.error,
        failure_kind=outcome.failure_kind,
    )
    wer = score_wer(turn.text, report.user_transcript or "") if turn.text is not None and item_id else None
    report.input_wer = wer.to_dict() if wer else None
    report.verdicts = verdicts(turn.expect, report, wer)
    if report.error is None and not report.passed:
        report.failure_kind = FailureKind.EXPECTATION
    return report, wer


def score_scenario(
    scenario: Scenario, timeline: Timeline, outcomes: Sequence[TurnOutcome], root: Path
) -> ScenarioReport:
    entries = timeline.entries
    latency = session_latency(entries)
    by_turn = {turn.turn: turn for turn in latency.turns}
    report = ScenarioReport(
        name=scenario.name,
        source=str(scenario.source) if scenario.source else None,
        connect_ms=dict(latency.connect),
        error_events=len(_received(entries, ServerEventType.ERROR)),
    )
    scores: list[WerScore] = []
    for outcome in outcomes:
        turn_report, wer = score_turn(scenario, outcome, by_turn.get(outcome.index), entries, root)
        report.turns.append(turn_report)
        if wer is not None:
            scores.append(wer)
    report.pooled_input_wer = pooled_wer(scores).to_dict() if scores else None
    return report


def score_run(report: RunReport) -> RunReport:
    """Fill the run-level aggregates (pooled WER, latency percentiles) from the scenario reports."""
    turns = [turn for scenario in report.scenarios for turn in scenario.turns]
    scores = [WerScore.from_dict(t.input_wer) for t in turns if t.input_wer is not None]
    report.pooled_input_wer = pooled_wer(scores).to_dict() if scores else None
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
