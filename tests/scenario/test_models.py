"""Scenario models: turn modes and default actions, short forms, expectation merging, and the
fields that must stay in step with the protocol (openai types)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from openai.types.realtime import RealtimeSessionCreateRequest
from openai.types.realtime.realtime_audio_config_input import RealtimeAudioConfigInput
from openai.types.realtime.realtime_audio_config_output import RealtimeAudioConfigOutput
from openai.types.realtime.realtime_audio_input_turn_detection import SemanticVad, ServerVad
from openai.types.realtime.realtime_response_create_params import RealtimeResponseCreateParams
from pydantic import BaseModel, ValidationError

from harness.scenario import (
    BargeIn,
    Commit,
    CreateResponse,
    EventPattern,
    LatencyBudget,
    ResponseOverrides,
    Scenario,
    SessionConfig,
    WaitFor,
)
from harness.scenario import session as session_models


def scenario(**data: Any) -> Scenario:
    return Scenario.model_validate({"name": "s", **data})


def kinds(actions: tuple[Any, ...]) -> list[type]:
    return [type(action) for action in actions]


def test_turn_modes_and_their_default_actions() -> None:
    manual = scenario(turns=[{"audio": "a.wav"}, {"say": "hi"}, {"audio": "b.wav", "mode": "vad"}, {}])
    assert [manual.turn_mode(i) for i in range(4)] == ["manual", "manual", "vad", "manual"]
    assert kinds(manual.turns[0].actions_for("manual")) == [Commit, CreateResponse, WaitFor]
    assert kinds(manual.turns[1].actions_for("manual")) == [CreateResponse, WaitFor]
    assert kinds(manual.turns[2].actions_for("vad")) == [WaitFor]
    assert manual.turns[3].actions_for("manual") == ()
    vad_session = {"audio": {"input": {"turn_detection": {"type": "semantic_vad", "eagerness": "high"}}}}
    vad = scenario(session=vad_session, turns=[{"audio": "a.wav"}, {"audio": "a.wav", "mode": "manual"}])
    assert [vad.turn_mode(0), vad.turn_mode(1)] == ["vad", "manual"]
    assert vad.session.turn_detection() == {"type": "semantic_vad", "eagerness": "high"}


def test_explicit_null_turn_detection_is_sent_unset_fields_are_not() -> None:
    config = SessionConfig.model_validate({"audio": {"input": {"turn_detection": None}}, "instructions": "x"})
    assert config.payload() == {"audio": {"input": {"turn_detection": None}}, "instructions": "x"}
    assert config.turn_detection() is None
    assert SessionConfig().payload() == {}


def test_short_forms_load_like_the_long_ones() -> None:
    loaded = scenario(
        turns=[
            {
                "audio": "a.wav",
                "actions": [
                    {"barge_in": {"after": "output_audio_buffer.started", "audio": "b.wav"}},
                    {"wait_for": {"event": "response.done", "match": {"response.status": "completed"}}},
                ],
                "expect": {"output_transcript_contains": "paris", "events_seen": ["response.done"]},
            }
        ],
        expect={"latency": {"first_audio_ms": 900, "voice_to_voice_ms": {"p95": 1200, "mean": 800}}},
    )
    turn = loaded.turns[0]
    assert turn.audio is not None and turn.audio.path == Path("a.wav") and turn.audio.gain_db == 0.0
    assert turn.expect.output_transcript_contains == ["paris"]
    assert turn.expect.events_seen == [EventPattern(event="response.done")]
    assert loaded.expect.latency["first_audio_ms"] == LatencyBudget(max=900)
    assert loaded.expect.latency["voice_to_voice_ms"].bounds() == {"mean": 800, "p95": 1200}
    assert {type(name) for name in loaded.expect.latency} == {str}  # metric names, as in report.json
    assert [where for where, _ in turn.clips()] == ["audio", "actions.0.barge_in.audio"]
    barge_in = turn.actions[0] if turn.actions else None
    assert isinstance(barge_in, BargeIn) and barge_in.barge_in.after == "output_audio_buffer.started"


def test_event_patterns_match_dotted_paths() -> None:
    pattern = EventPattern(event="error", match={"error.code": "response_cancel_not_active"})
    assert pattern.matches({"type": "error", "error": {"code": "response_cancel_not_active"}})
    assert not pattern.matches({"type": "error", "error": {"code": "other"}})
    assert not pattern.matches({"type": "response.done", "error": {"code": "response_cancel_not_active"}})
    assert EventPattern(event="response.done", match={"response.output.0.type": "message"}).matches(
        {"type": "response.done", "response": {"output": [{"type": "message"}]}}
    )
    assert pattern.describe() == "error[error.code=response_cancel_not_active]"


def test_turn_expectations_merge_over_the_scenario_defaults() -> None:
    loaded = scenario(
        turn_expect={"max_input_wer": 0.4, "latency": {"first_audio_ms": 1000, "response_done_ms": 5000}},
        turns=[{"audio": "a.wav", "expect": {"latency": {"first_audio_ms": 700}, "max_first_audio_ms": 900}}],
    )
    merged = loaded.expectations(0)
    assert merged.max_input_wer == 0.4
    # ``latency`` wins over the older ``max_first_audio_ms`` spelling.
    assert merged.latency_bounds() == {"first_audio_ms": 700, "response_done_ms": 5000}


def test_invalid_combinations_are_rejected() -> None:
    with pytest.raises(ValidationError, match="a `say` turn has no audio"):
        scenario(turns=[{"say": "hi", "text": "hi"}])
    with pytest.raises(ValidationError, match="turn detection never fires"):
        scenario(turns=[{"say": "hi", "mode": "vad"}])
    with pytest.raises(ValidationError, match="a delay must be 0 ms or more"):
        scenario(turns=[{"actions": [{"barge_in": {"after": -5, "audio": "x.wav"}}]}])
    with pytest.raises(ValidationError, match="at most 1 item"):
        SessionConfig.model_validate({"output_modalities": ["audio", "text"]})


def _fields(model: type[BaseModel]) -> set[str]:
    return set(model.model_fields)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (SessionConfig, RealtimeSessionCreateRequest),
        (session_models.AudioInput, RealtimeAudioConfigInput),
        (session_models.AudioOutput, RealtimeAudioConfigOutput),
        (session_models.ServerVad, ServerVad),
        (session_models.SemanticVad, SemanticVad),
        (ResponseOverrides, RealtimeResponseCreateParams),
    ],
)
def test_every_protocol_field_is_accepted(ours: type[BaseModel], theirs: type[BaseModel]) -> None:
    missing = sorted(_fields(theirs) - _fields(ours))
    assert not missing, f"add {missing} to {ours.__name__}"
