"""Scoring on a hand-built timeline: transcripts by id, the three WERs, latencies (manual, typed and
VAD turns), and every kind of verdict with its measured value and bound (known answers)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from harness.report.model import FailureKind, Verdict
from harness.scenario import Scenario
from harness.scoring import SessionRecord, TurnRecord, score_run, score_session
from harness.timeline import EntryKind, Milestone, TimelineEntry

if TYPE_CHECKING:
    from tests.support.reports import ReportFactory


def sent(t: float, type_: str, turn: int | None, **data: Any) -> TimelineEntry:
    return TimelineEntry(t, EntryKind.SENT, type_, turn, {"type": type_, **data})


def recv(t: float, type_: str, turn: int | None, **data: Any) -> TimelineEntry:
    return TimelineEntry(t, EntryKind.RECEIVED, type_, turn, {"type": type_, **data})


def mark(t: float, milestone: str, turn: int | None, **data: Any) -> TimelineEntry:
    return TimelineEntry(t, EntryKind.MILESTONE, milestone, turn, dict(data))


def response(t: float, type_: str, turn: int | None, rid: str, status: str = "in_progress") -> TimelineEntry:
    return recv(t, type_, turn, response={"id": rid, "status": status})


ENTRIES = [
    # turn 0: push-to-talk
    mark(0.000, Milestone.TURN_START, 0, name="ask", mode="manual"),
    mark(0.100, "audio.input.speech_start", 0, role="turn"),
    mark(0.800, "audio.input.speech_end", 0, role="turn"),
    sent(1.000, "input_audio_buffer.commit", 0),
    recv(1.010, "input_audio_buffer.committed", 0, item_id="item_0"),
    sent(1.020, "response.create", 0),
    response(1.050, "response.created", 0, "resp_0"),
    mark(1.220, Milestone.OUTPUT_AUDIO_ONSET, 0),
    recv(
        1.500,
        "response.output_audio_transcript.done",
        0,
        response_id="resp_0",
        transcript="You said: hello world.",
    ),
    response(1.600, "response.done", 0, "resp_0", "completed"),
    mark(2.000, Milestone.TURN_END, 0),
    # turn 1: typed; the reply is cut and a cancel comes too late
    mark(3.000, Milestone.TURN_START, 1, name="typed", mode="manual"),
    recv(
        3.005,
        "conversation.item.input_audio_transcription.completed",
        1,
        item_id="item_0",
        transcript="hello world",
    ),
    sent(3.010, "conversation.item.create", 1),
    sent(3.020, "response.create", 1),
    response(3.030, "response.created", 1, "resp_1"),
    mark(3.120, Milestone.OUTPUT_AUDIO_ONSET, 1),
    recv(3.300, "response.output_audio_transcript.done", 1, response_id="resp_1", transcript="Sure"),
    response(3.400, "response.done", 1, "resp_1", "cancelled"),
    recv(3.500, "error", 1, error={"code": "response_cancel_not_active", "event_id": None}),
    mark(4.000, Milestone.TURN_END, 1),
    # turn 2: server VAD ends the turn and answers by itself
    mark(4.500, Milestone.TURN_START, 2, name="vad", mode="vad"),
    mark(4.600, "audio.input.speech_end", 2, role="turn"),
    recv(5.000, "input_audio_buffer.speech_stopped", 2, item_id="item_2"),
    recv(5.001, "input_audio_buffer.committed", 2, item_id="item_2"),
    response(5.002, "response.created", 2, "resp_2"),
    mark(5.400, Milestone.OUTPUT_AUDIO_ONSET, 2),
    recv(
        5.450,
        "conversation.item.input_audio_transcription.completed",
        2,
        item_id="item_2",
        transcript="good bye",
    ),
    response(5.600, "response.done", 2, "resp_2", "completed"),
    mark(6.000, Milestone.TURN_END, 2),
]

SCENARIO: dict[str, Any] = {
    "name": "scored",
    "tags": ["unit"],
    "turn_expect": {"no_error_events": True},
    "turns": [
        {
            "name": "ask",
            "audio": "a.wav",
            "text": "Hello, world!",
            "reply": "You said hello world",
            "expect": {
                "max_input_wer": 0,
                "max_output_wer": 0.2,
                "max_consistency_wer": 0.1,
                "input_transcript_contains": ["hello", "world"],
                "output_transcript_matches": "^you said",
                "latency": {"first_audio_ms": 300, "voice_to_voice_ms": 400},
                "events_seen": ["response.done"],
            },
        },
        {
            "name": "typed",
            "say": "Go on.",
            "expect": {
                "response_status": "completed",
                "events_not_seen": ["error"],
                "no_error_events": False,
            },
        },
        {
            "name": "vad",
            "mode": "vad",
            "audio": "a.wav",
            "text": "good night",
            "expect": {"response_status": "completed"},
        },
    ],
    "expect": {
        "max_pooled_input_wer": 0.2,
        "max_pooled_output_wer": 0.0,
        "max_pooled_consistency_wer": 0.2,
        "latency": {"first_audio_ms": {"p95": 350, "mean": 300}, "connect_total_ms": 500},
        "events_seen": ["response.done", "input_audio_buffer.speech_stopped", "session.created"],
        "events_not_seen": [
            "input_audio_buffer.timeout_triggered",
            {"event": "error", "match": {"error.code": "response_cancel_not_active"}},
        ],
        "no_error_events": True,
    },
}


def recogniser(path: Path) -> str:
    return {"0.wav": "you said hello word", "1.wav": "sure", "2.wav": ""}[path.name]


@pytest.fixture
def scored(tmp_path: Path) -> Any:
    scenario = Scenario.model_validate(SCENARIO)
    turns = tuple(
        TurnRecord(
            i,
            scenario.turn_label(i),
            scenario.turn_mode(i),
            audio_received=tmp_path / f"{i}.wav",
            received_non_silent=True,
            received_peak_dbfs=-6.0,
        )
        for i in range(3)
    )
    record = SessionRecord(scenario, "scored", tmp_path, tuple(ENTRIES), turns)
    return score_session(record, recogniser=recogniser)


def verdicts(items: list[Verdict]) -> list[tuple[str, bool, Any, Any]]:
    return [(v.name, v.passed, v.measured, v.bound) for v in items]


def test_turn_figures(scored: Any) -> None:
    ask, typed, vad = scored.turns
    assert (ask.user_transcript, ask.assistant_transcript, ask.response_status) == (
        "hello world",
        "You said: hello world.",
        "completed",
    )
    assert ask.input_wer.wer == 0.0 and ask.output_wer.wer == 0.0
    assert ask.audio_transcript == "you said hello word"
    assert ask.consistency_wer.wer == 0.25  # 1 substitution in 4 words of the assistant's transcript
    assert ask.latencies_ms["first_audio_ms"] == 200.0
    assert ask.latencies_ms["voice_to_voice_ms"] == 420.0  # speech end 0.800 -> onset 1.220
    assert (typed.user_transcript, typed.mode, typed.input_wer, typed.consistency_wer) == (
        "Go on.",
        "manual",
        None,
        None,
    )
    assert typed.latencies_ms["first_audio_ms"] == 100.0
    # VAD turn: the server's speech_stopped stands in for commit and response.create.
    assert (vad.mode, vad.response_id, vad.user_transcript) == ("vad", "resp_2", "good bye")
    assert vad.latencies_ms["first_audio_ms"] == 400.0
    assert vad.latencies_ms["commit_to_committed_ms"] == 1.0
    assert vad.latencies_ms["voice_to_voice_ms"] == 800.0
    assert vad.input_wer.wer == 0.5


def test_turn_verdicts(scored: Any) -> None:
    ask, typed, vad = scored.turns
    assert verdicts(ask.verdicts) == [
        ("max_input_wer", True, 0.0, 0),
        ("max_output_wer", True, 0.0, 0.2),
        ("max_consistency_wer", False, 0.25, 0.1),
        ("input_transcript_contains", True, "hello world", "hello"),
        ("input_transcript_contains", True, "hello world", "world"),
        ("output_transcript_matches", True, "You said: hello world.", "^you said"),
        ("latency.first_audio_ms", True, 200.0, 300),
        ("latency.voice_to_voice_ms", False, 420.0, 400),
        ("events_seen[response.done]", True, 1, "at least 1"),
        ("no_error_events", True, 0, 0),
    ]
    assert verdicts(typed.verdicts) == [
        ("response_status", False, "cancelled", "completed"),
        ("events_not_seen[error]", False, 1, 0),
    ]
    assert vad.passed and ask.failure_kind == FailureKind.EXPECTATION


def test_scenario_verdicts_and_pooled_wer(scored: Any) -> None:
    assert scored.pooled_input_wer.wer == 0.25  # (0 + 1) errors / (2 + 2) words
    assert scored.pooled_output_wer.utterances == scored.pooled_consistency_wer.utterances == 1
    assert scored.tags == ["unit"]
    assert (scored.pooled_output_wer.wer, scored.pooled_consistency_wer.wer) == (0.0, 0.25)
    assert verdicts(scored.verdicts) == [
        ("max_pooled_input_wer", False, 0.25, 0.2),
        ("max_pooled_output_wer", True, 0.0, 0.0),  # "You said hello world" as the reply expected
        ("max_pooled_consistency_wer", False, 0.25, 0.2),  # "word" heard for "world"
        ("latency.first_audio_ms.mean", True, 233.333, 300),
        ("latency.first_audio_ms.p95", False, 380.0, 350),  # of [100, 200, 400], numpy's linear
        ("latency.connect_total_ms.max", False, None, 500),  # no connect milestones here
        # Scenario-level events count over the whole session, every turn's included.
        ("events_seen[response.done]", True, 3, "at least 1"),
        ("events_seen[input_audio_buffer.speech_stopped]", True, 1, "at least 1"),  # the VAD turn's
        ("events_seen[session.created]", False, 0, "at least 1"),
        ("events_not_seen[input_audio_buffer.timeout_triggered]", True, 0, 0),
        ("events_not_seen[error[error.code=response_cancel_not_active]]", False, 1, 0),
        ("no_error_events", False, 1, 0),
    ]
    assert scored.verdicts[-1].detail == "response_cancel_not_active"
    assert scored.verdicts[5].describe() == "latency.connect_total_ms.max: not measured, expected 500 (n=0)"
    assert not scored.passed


def test_run_pools_every_scenario(scored: Any, reports: ReportFactory) -> None:
    run = score_run(reports.run(started_at="now", model="m"), [scored, scored.model_copy()])
    assert run.pooled_input_wer is not None and run.pooled_input_wer.reference_words == 8
    assert run.pooled_consistency_wer is not None and run.pooled_consistency_wer.wer == 0.25
    assert run.latency_summary_ms["first_audio_ms"]["count"] == 6
