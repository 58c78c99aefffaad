"""Score one finished session: its record in, a complete scenario report with verdicts out.

Per turn: transcripts (looked up by id), input WER (user transcript vs ``text``), output WER
(assistant transcript vs ``reply``), output consistency (the captured audio re-transcribed offline
vs the assistant transcript), latencies, token usage and verdicts. Per scenario: pooled WERs and
scenario-level verdicts. Everything is pure but the WAV reads of re-transcription, so this runs in
a worker process (:mod:`harness.scoring.pool`), away from the loop that paces audio.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from harness.metrics import (
    PooledWer,
    TurnLatency,
    WerScore,
    pooled_wer,
    recognise,
    score_wer,
    session_latency,
)
from harness.protocol import Milestone, ServerEventType
from harness.protocol.events import INVALID_MESSAGE
from harness.report.model import FailureKind, RtpStats, ScenarioReport, TurnReport, Verdict
from harness.scoring.record import SessionRecord, TurnRecord
from harness.scoring.transcripts import (
    ReceivedEvents,
    assistant_transcript,
    response_status,
    user_transcript,
)
from harness.scoring.usage import SessionUsage
from harness.scoring.verdicts import scenario_verdicts, turn_verdicts

Recogniser = Callable[[Path], str]


def relative_path(path: Path | None, root: Path) -> str | None:
    """``path`` relative to the run directory when it is inside it (reports move with the folder)."""
    if path is None:
        return None
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def _consistency(
    transcript: str | None, status: str | None, turn: TurnRecord, recogniser: Recogniser | None
) -> tuple[str | None, WerScore | None]:
    """Re-transcribe the reply's audio when there is one whole reply to compare with its transcript."""
    said = (transcript or "").strip()
    if recogniser is None or turn.audio_received is None or not turn.received_non_silent or not said:
        return None, None
    if status != "completed":
        return None, None  # an interrupted reply's audio stops mid-word; its transcript may not
    heard = recogniser(turn.audio_received)
    return heard, score_wer(said, heard)


def score_turn(
    record: SessionRecord,
    turn: TurnRecord,
    latency: TurnLatency | None,
    events: ReceivedEvents,
    usage: SessionUsage,
    recogniser: Recogniser | None,
) -> TurnReport:
    spec = record.scenario.turns[turn.index]
    item_id = latency.item_id if latency else None
    response_id = latency.response_id if latency else None
    heard = spec.say if spec.say is not None else user_transcript(events, item_id)
    said = assistant_transcript(events, response_id)
    status = response_status(events, response_id)
    audio_transcript, consistency = _consistency(said, status, turn, recogniser)
    input_wer = score_wer(spec.text, heard or "") if spec.text is not None and item_id is not None else None
    output_wer = score_wer(spec.reply, said or "") if spec.reply is not None and response_id else None
    perturbation = record.scenario.perturbation(turn.index)
    measured = TurnReport(
        index=turn.index,
        name=turn.label,
        mode=turn.mode,
        text=spec.text,
        say=spec.say,
        reply=spec.reply,
        audio_source=relative_path(turn.audio_source, record.root),
        audio_sent=relative_path(turn.audio_sent, record.root),
        audio_received=relative_path(turn.audio_received, record.root),
        user_transcript=heard,
        assistant_transcript=said,
        input_wer=input_wer,
        output_wer=output_wer,
        audio_transcript=audio_transcript,
        consistency_wer=consistency,
        response_id=response_id,
        response_status=status,
        audio_received_non_silent=turn.received_non_silent,
        audio_received_peak_dbfs=turn.received_peak_dbfs,
        latencies_ms=dict(latency.metrics) if latency else {},
        usage=usage.of_turn(turn.index, response_id),
        error=turn.error,
        failure_kind=turn.failure_kind,
        perturbation=perturbation.settings() if perturbation is not None else None,
    )
    verdicts = turn_verdicts(record.scenario.expectations(turn.index), measured, events.of_turn(turn.index))
    failed = turn.error is None and not all(v.passed for v in verdicts)
    return measured.model_copy(
        update={
            "verdicts": verdicts,
            "failure_kind": FailureKind.EXPECTATION if failed else turn.failure_kind,
        }
    )


def pooled(scores: Iterable[WerScore | None]) -> PooledWer | None:
    """Corpus WER over the scores that exist; None when there is none."""
    present = [score for score in scores if score is not None]
    return pooled_wer(present) if present else None


def score_session(record: SessionRecord, recogniser: Recogniser | None = recognise) -> ScenarioReport:
    """The scenario report of one finished session. With ``recogniser=None`` the consistency check
    is skipped (an interrupted run scores what it has without waiting for re-transcription)."""
    scenario = record.scenario
    events = ReceivedEvents(record.entries)
    latency = session_latency(list(record.entries))
    by_turn = {turn.turn: turn for turn in latency.turns}
    usage = SessionUsage(record.entries)
    turns = [
        score_turn(record, turn, by_turn.get(turn.index), events, usage, recogniser) for turn in record.turns
    ]
    measured = ScenarioReport(
        name=scenario.name,
        source=str(scenario.source) if scenario.source else None,
        tags=list(scenario.tags),
        instance=record.instance,
        variant=dict(record.variant),
        repeat=record.repeat,
        model=record.model,
        voice=record.voice,
        call_id=record.call_id,
        started_at=record.started_at,
        rtp=RtpStats.model_validate(record.rtp) if record.rtp is not None else None,
        duration_s=record.duration_s,
        connect_ms=dict(latency.connect),
        error_events=len(events.of_type(ServerEventType.ERROR)),
        invalid_messages=sum(1 for e in record.entries if e.type == INVALID_MESSAGE),
        connect_retries=sum(1 for e in record.entries if e.type == Milestone.CONNECT_RETRY),
        turns=turns,
        pooled_input_wer=pooled(t.input_wer for t in turns),
        pooled_output_wer=pooled(t.output_wer for t in turns),
        pooled_consistency_wer=pooled(t.consistency_wer for t in turns),
        usage=usage.total,
        error=record.error,
        failure_kind=record.failure_kind,
    )
    verdicts = scenario_verdicts(scenario.expect, measured, events.of_turn(None))
    return measured.model_copy(
        update={"verdicts": verdicts, "failure_kind": _session_failure(record, turns, verdicts)}
    )


def _session_failure(
    record: SessionRecord, turns: list[TurnReport], verdicts: list[Verdict]
) -> FailureKind | None:
    """Why the session failed: its own error, else its first failed turn's kind, else its own
    expectations; None when it passed."""
    if record.failure_kind is not None or record.error is not None:
        return record.failure_kind
    failed = next((turn.failure_kind for turn in turns if not turn.passed), None)
    if failed is not None:
        return failed
    return None if all(v.passed for v in verdicts) else FailureKind.EXPECTATION
