"""Known answers for connect and per-turn latencies on hand-built timelines."""

from __future__ import annotations

import json
from typing import Any

from harness.metrics import ConnectMetric, TurnMetric, connect_latency, session_latency, turn_latencies
from harness.timeline import EntryKind, Milestone, TimelineEntry


def sent(t: float, type_: str, turn: int | None, **data: Any) -> TimelineEntry:
    return TimelineEntry(t, EntryKind.SENT, type_, turn, {"type": type_, **data})


def recv(t: float, type_: str, turn: int | None, **data: Any) -> TimelineEntry:
    return TimelineEntry(t, EntryKind.RECEIVED, type_, turn, {"type": type_, **data})


def mark(t: float, milestone: Milestone, turn: int | None = None, **data: Any) -> TimelineEntry:
    return TimelineEntry(t, EntryKind.MILESTONE, milestone, turn, dict(data))


def response(t: float, type_: str, turn: int | None, response_id: str, **extra: Any) -> TimelineEntry:
    return recv(t, type_, turn, response={"id": response_id, "object": "realtime.response", **extra})


def connect_entries() -> list[TimelineEntry]:
    return [
        mark(0.000, Milestone.CONNECT_START),
        mark(0.050, Milestone.CLIENT_SECRET_CREATED),
        mark(0.060, Milestone.SDP_OFFER_CREATED),
        mark(0.180, Milestone.SDP_ANSWER_RECEIVED),
        mark(0.230, Milestone.ICE_CONNECTED),
        mark(0.260, Milestone.PEER_CONNECTED),
        mark(0.300, Milestone.CHANNEL_OPEN),
        sent(0.301, "session.update", None),
        recv(0.320, "session.created", None),
        recv(0.399, "session.updated", None),
        mark(0.400, Milestone.SESSION_READY),
    ]


def test_connect_phases() -> None:
    assert connect_latency(connect_entries()) == {
        "connect_client_secret_ms": 50.0,
        "connect_sdp_exchange_ms": 120.0,
        "connect_ice_ms": 50.0,
        "connect_peer_ms": 80.0,
        "connect_channel_open_ms": 40.0,
        "connect_session_created_ms": 20.0,
        "connect_session_ready_ms": 80.0,
        "connect_total_ms": 400.0,
    }


def test_connect_ready_falls_back_to_session_updated() -> None:
    entries = [e for e in connect_entries() if e.type != Milestone.SESSION_READY]
    phases = connect_latency(entries)
    assert phases[ConnectMetric.SESSION_READY] == 79.0
    assert phases[ConnectMetric.TOTAL] == 399.0


def test_connect_missing_milestones() -> None:
    assert connect_latency([]) == dict.fromkeys((m.value for m in ConnectMetric), None)


def two_turn_session() -> list[TimelineEntry]:
    """Push-to-talk: turn 0 plays out; turn 1 is interrupted. Transcripts arrive late, in a later turn
    or in none, and decoy events of other items/responses sit inside turn 0."""
    return [
        *connect_entries(),
        # turn 0
        mark(1.000, Milestone.TURN_START, 0),
        mark(1.000, Milestone.INPUT_AUDIO_START, 0),
        mark(3.000, Milestone.INPUT_AUDIO_END, 0, speech_end_t=2.600),
        sent(3.010, "input_audio_buffer.commit", 0),
        recv(3.050, "input_audio_buffer.committed", 0, item_id="item_A", previous_item_id=None),
        sent(3.060, "response.create", 0, event_id="evt_c0"),
        response(3.200, "response.created", 0, "resp_A"),
        recv(3.300, "conversation.item.input_audio_transcription.completed", 0, item_id="item_X"),
        recv(3.400, "response.output_audio_transcript.delta", 0, response_id="resp_A", delta="Hi"),
        recv(3.420, "response.output_audio_transcript.delta", 0, response_id="resp_A", delta=" there"),
        recv(3.450, "output_audio_buffer.started", 0, response_id="resp_A"),
        mark(3.520, Milestone.OUTPUT_AUDIO_ONSET, 0),
        response(3.900, "response.done", 0, "resp_OTHER"),
        response(4.100, "response.done", 0, "resp_A", status="completed"),
        mark(5.000, Milestone.OUTPUT_AUDIO_OFFSET, 0),
        mark(5.100, Milestone.TURN_END, 0),
        # turn 1
        mark(5.200, Milestone.TURN_START, 1),
        mark(5.200, Milestone.INPUT_AUDIO_START, 1),
        recv(5.250, "output_audio_buffer.stopped", 1, response_id="resp_A"),
        recv(5.300, "conversation.item.input_audio_transcription.completed", 1, item_id="item_A"),
        mark(6.000, Milestone.INPUT_AUDIO_END, 1),
        sent(6.010, "input_audio_buffer.commit", 1),
        recv(6.040, "input_audio_buffer.committed", 1, item_id="item_B", previous_item_id="item_A"),
        sent(6.050, "response.create", 1, event_id="evt_c1"),
        response(6.150, "response.created", 1, "resp_B"),
        recv(6.300, "response.output_text.delta", 1, response_id="resp_B", delta="Sure"),
        recv(6.350, "output_audio_buffer.started", 1, response_id="resp_B"),
        mark(6.420, Milestone.OUTPUT_AUDIO_ONSET, 1),
        sent(6.500, "output_audio_buffer.clear", 1),
        sent(6.510, "response.cancel", 1),
        recv(6.520, "output_audio_buffer.cleared", 1, response_id="resp_B"),
        mark(6.540, Milestone.OUTPUT_AUDIO_OFFSET, 1),
        mark(6.560, Milestone.OUTPUT_AUDIO_ONSET, 1),  # residual audio flaps back on
        mark(6.600, Milestone.OUTPUT_AUDIO_OFFSET, 1),
        response(6.650, "response.done", 1, "resp_B", status="cancelled"),
        mark(6.700, Milestone.TURN_END, 1),
        recv(7.000, "conversation.item.input_audio_transcription.completed", None, item_id="item_B"),
    ]


TURN_0 = {
    "commit_to_committed_ms": 40.0,
    "commit_to_transcript_ms": 2290.0,  # item_A's transcript, recorded in turn 1
    "response_created_ms": 140.0,
    "first_transcript_delta_ms": 340.0,
    "audio_started_ms": 390.0,
    "first_audio_ms": 460.0,
    "response_done_ms": 1040.0,  # resp_A's, not resp_OTHER's
    "audio_stopped_ms": 2190.0,  # recorded in turn 1, matched on response_id
    "cancel_to_silence_ms": None,
    "barge_in_to_silence_ms": None,
    "voice_to_voice_ms": 920.0,  # from speech_end_t 2.600 to the onset at 3.520
}
TURN_1 = {
    "commit_to_committed_ms": 30.0,
    "commit_to_transcript_ms": 990.0,  # recorded with turn=None
    "response_created_ms": 100.0,
    "first_transcript_delta_ms": 250.0,  # an output_text.delta counts too
    "audio_started_ms": 300.0,
    "first_audio_ms": 370.0,
    "response_done_ms": 600.0,
    "audio_stopped_ms": None,  # a cleared response gets no output_audio_buffer.stopped
    "cancel_to_silence_ms": 100.0,  # clear at 6.500 -> last offset 6.600
    "barge_in_to_silence_ms": None,
    "voice_to_voice_ms": 420.0,  # no speech_end_t: from the audio.input.end milestone
}


def test_two_turns_known_answers() -> None:
    turns = turn_latencies(two_turn_session())
    assert [t.turn for t in turns] == [0, 1]
    assert dict(turns[0].metrics) == TURN_0
    assert dict(turns[1].metrics) == TURN_1
    assert (turns[0].item_id, turns[0].response_id) == ("item_A", "resp_A")
    assert (turns[1].item_id, turns[1].response_id) == ("item_B", "resp_B")
    assert turns[1][TurnMetric.CANCEL_TO_SILENCE] == 100.0


def test_order_of_recording_does_not_matter() -> None:
    # Onsets are recorded at packet arrival and may be appended after later events.
    assert turn_latencies(list(reversed(two_turn_session()))) == turn_latencies(two_turn_session())


def test_session_to_dict_is_json() -> None:
    record = json.loads(json.dumps(session_latency(two_turn_session()).to_dict()))
    assert record["connect"]["connect_total_ms"] == 400.0
    assert record["turns"][0] == {"turn": 0, "item_id": "item_A", "response_id": "resp_A", **TURN_0}
    assert set(record["turns"][1]) == {"turn", "item_id", "response_id", *(m.value for m in TurnMetric)}


def test_turn_without_anchors_is_all_none() -> None:
    (turn,) = turn_latencies([mark(1.0, Milestone.TURN_START, 3), mark(2.0, Milestone.TURN_END, 3)])
    assert turn.turn == 3
    assert (turn.item_id, turn.response_id) == (None, None)
    assert set(turn.metrics.values()) == {None}


def test_rejected_create_is_skipped() -> None:
    entries = [
        sent(1.000, "response.create", 0, event_id="evt_1"),
        recv(
            1.020,
            "error",
            0,
            error={
                "type": "invalid_request_error",
                "code": "conversation_already_has_active_response",
                "message": "busy",
                "param": None,
                "event_id": "evt_1",
            },
        ),
        sent(1.500, "response.create", 0, event_id="evt_2"),
        response(1.620, "response.created", 0, "resp_2"),
        response(2.000, "response.done", 0, "resp_2"),
    ]
    (turn,) = turn_latencies(entries)
    assert turn.response_id == "resp_2"
    assert turn[TurnMetric.RESPONSE_CREATED] == 120.0
    assert turn[TurnMetric.RESPONSE_DONE] == 500.0


def test_response_created_is_not_taken_from_the_next_create() -> None:
    entries = [
        sent(1.000, "response.create", 0),
        sent(2.000, "response.create", 1),
        response(2.100, "response.created", 1, "resp_1"),
        mark(2.300, Milestone.OUTPUT_AUDIO_ONSET, 1),
    ]
    first, second = turn_latencies(entries)
    assert first.response_id is None
    assert first[TurnMetric.RESPONSE_CREATED] is None
    assert first[TurnMetric.FIRST_AUDIO] is None  # the onset belongs to the next create
    assert second[TurnMetric.RESPONSE_CREATED] == 100.0
    assert second[TurnMetric.FIRST_AUDIO] == 300.0


def test_first_audio_stops_at_another_responses_created() -> None:
    # Server VAD creates a response of its own (no client create) before any audio of ours.
    entries = [
        sent(1.000, "response.create", 0),
        response(1.100, "response.created", 0, "resp_0"),
        response(1.200, "response.done", 0, "resp_0", status="cancelled"),
        response(1.500, "response.created", None, "resp_vad"),
        mark(1.700, Milestone.OUTPUT_AUDIO_ONSET, None),
    ]
    (turn,) = turn_latencies(entries)
    assert turn[TurnMetric.FIRST_AUDIO] is None
    assert turn[TurnMetric.RESPONSE_DONE] == 200.0


def test_committed_is_not_taken_from_the_next_commit() -> None:
    entries = [
        sent(1.000, "input_audio_buffer.commit", 0),
        sent(2.000, "input_audio_buffer.commit", 1),
        recv(2.030, "input_audio_buffer.committed", 1, item_id="item_1"),
        recv(3.000, "conversation.item.input_audio_transcription.completed", None, item_id="item_1"),
    ]
    first, second = turn_latencies(entries)
    assert (first.item_id, first[TurnMetric.COMMIT_TO_COMMITTED], first[TurnMetric.COMMIT_TO_TRANSCRIPT]) == (
        None,
        None,
        None,
    )
    assert second[TurnMetric.COMMIT_TO_COMMITTED] == 30.0
    assert second[TurnMetric.COMMIT_TO_TRANSCRIPT] == 1000.0


def test_cancel_to_silence_ends_before_the_next_response() -> None:
    entries = [
        sent(0.500, "response.create", 0),
        response(0.600, "response.created", 0, "resp_0"),
        mark(0.800, Milestone.OUTPUT_AUDIO_ONSET, 0),
        sent(1.000, "response.cancel", 0),
        mark(1.100, Milestone.OUTPUT_AUDIO_OFFSET, 0),
        response(1.500, "response.created", None, "resp_1"),
        mark(1.700, Milestone.OUTPUT_AUDIO_ONSET, None),
        mark(2.000, Milestone.OUTPUT_AUDIO_OFFSET, None),
    ]
    (turn,) = turn_latencies(entries)
    assert turn[TurnMetric.CANCEL_TO_SILENCE] == 100.0


def test_cancel_in_a_pause_that_never_ends_is_zero() -> None:
    # The reply's last loud frame came before the clear (a pause between words): nothing to stop.
    entries = [
        sent(0.500, "response.create", 0),
        mark(0.600, Milestone.OUTPUT_AUDIO_ONSET, 0),
        mark(0.800, Milestone.OUTPUT_AUDIO_OFFSET, 0),
        sent(1.000, "output_audio_buffer.clear", 0),
    ]
    (turn,) = turn_latencies(entries)
    assert turn[TurnMetric.CANCEL_TO_SILENCE] == 0.0


def test_cancel_before_any_audio_is_none() -> None:
    entries = [
        mark(0.100, Milestone.OUTPUT_AUDIO_OFFSET, None),  # an earlier reply, before this turn's create
        sent(0.500, "response.create", 0),
        sent(1.000, "response.cancel", 0),
        response(1.100, "response.done", 0, "resp_0", status="cancelled"),
    ]
    (turn,) = turn_latencies(entries)
    assert turn[TurnMetric.CANCEL_TO_SILENCE] is None


def test_voice_to_voice_stops_at_the_next_user_audio() -> None:
    entries = [
        mark(1.000, Milestone.INPUT_AUDIO_START, 0),
        mark(2.000, Milestone.INPUT_AUDIO_END, 0, speech_end_t=1.800),
        mark(3.000, Milestone.INPUT_AUDIO_START, 1),
        mark(4.000, Milestone.INPUT_AUDIO_END, 1),
        mark(4.500, Milestone.OUTPUT_AUDIO_ONSET, 1),
    ]
    first, second = turn_latencies(entries)
    assert first[TurnMetric.VOICE_TO_VOICE] is None  # no reply before turn 1's audio began
    assert second[TurnMetric.VOICE_TO_VOICE] == 500.0


def test_voice_to_voice_counts_an_onset_before_the_end_milestone() -> None:
    # Trailing silence is still being sent when the reply starts: speech ended at 1.5 s.
    entries = [
        mark(1.000, Milestone.INPUT_AUDIO_START, 0),
        mark(1.900, Milestone.OUTPUT_AUDIO_ONSET, 0),
        mark(2.500, Milestone.INPUT_AUDIO_END, 0, speech_end_t=1.500),
    ]
    (turn,) = turn_latencies(entries)
    assert turn[TurnMetric.VOICE_TO_VOICE] == 400.0


def vad_turn() -> list[TimelineEntry]:
    """Server VAD ends the turn and answers by itself; the user barges in on the reply."""
    return [
        mark(1.000, Milestone.TURN_START, 0, mode="vad"),
        mark(1.000, Milestone.INPUT_AUDIO_START, 0),
        mark(1.200, "audio.input.speech_start", 0, role="turn"),
        mark(2.400, "audio.input.speech_end", 0, role="turn"),
        mark(2.700, Milestone.INPUT_AUDIO_END, 0),
        recv(2.950, "input_audio_buffer.speech_stopped", 0, item_id="item_V", audio_end_ms=2400),
        recv(2.951, "input_audio_buffer.committed", 0, item_id="item_V"),
        response(2.960, "response.created", 0, "resp_V"),
        recv(3.300, "output_audio_buffer.started", 0, response_id="resp_V"),
        mark(3.310, Milestone.OUTPUT_AUDIO_ONSET, 0),
        recv(3.500, "conversation.item.input_audio_transcription.completed", 0, item_id="item_V"),
        mark(4.000, Milestone.INPUT_AUDIO_START, 0),  # the barge-in clip
        mark(4.100, "audio.input.speech_start", 0, role="barge_in"),
        recv(4.350, "input_audio_buffer.speech_started", 0),
        recv(4.360, "output_audio_buffer.cleared", 0, response_id="resp_V"),
        mark(4.380, Milestone.OUTPUT_AUDIO_OFFSET, 0),
        response(4.400, "response.done", 0, "resp_V", status="cancelled"),
        mark(5.000, "audio.input.speech_end", 0, role="barge_in"),
        recv(5.500, "input_audio_buffer.speech_stopped", 0, item_id="item_W"),
        response(5.510, "response.created", 0, "resp_W"),
        mark(5.900, Milestone.OUTPUT_AUDIO_ONSET, 0),
        mark(6.500, Milestone.OUTPUT_AUDIO_OFFSET, 0),
    ]


def test_vad_turn_anchors_on_speech_stopped() -> None:
    (turn,) = turn_latencies(vad_turn())
    assert (turn.item_id, turn.response_id) == ("item_V", "resp_V")
    assert turn[TurnMetric.COMMIT_TO_COMMITTED] == 1.0
    assert turn[TurnMetric.COMMIT_TO_TRANSCRIPT] == 550.0
    assert turn[TurnMetric.RESPONSE_CREATED] == 10.0
    assert turn[TurnMetric.AUDIO_STARTED] == 350.0
    assert turn[TurnMetric.FIRST_AUDIO] == 360.0
    assert turn[TurnMetric.RESPONSE_DONE] == 1450.0
    assert turn[TurnMetric.VOICE_TO_VOICE] == 910.0  # the runner's speech end 2.400 -> onset 3.310
    assert turn[TurnMetric.BARGE_IN_TO_SILENCE] == 280.0  # barge-in speech 4.100 -> last loud 4.380
    assert turn[TurnMetric.CANCEL_TO_SILENCE] is None


def test_a_client_create_wins_over_speech_stopped() -> None:
    entries = [
        recv(1.000, "input_audio_buffer.speech_stopped", 0, item_id="item_V"),
        sent(1.500, "response.create", 0),
        response(1.600, "response.created", 0, "resp_C"),
    ]
    (turn,) = turn_latencies(entries)
    assert turn.response_id == "resp_C"
    assert turn[TurnMetric.RESPONSE_CREATED] == 100.0


def test_speech_stopped_of_another_turn_is_not_borrowed() -> None:
    entries = [
        mark(1.000, Milestone.TURN_START, 0),
        mark(2.000, Milestone.TURN_START, 1),
        recv(2.100, "input_audio_buffer.speech_stopped", 1, item_id="item_1"),
        response(2.110, "response.created", 1, "resp_1"),
    ]
    first, second = turn_latencies(entries)
    assert first.response_id is None and first[TurnMetric.RESPONSE_CREATED] is None
    assert second[TurnMetric.RESPONSE_CREATED] == 10.0


def test_the_runners_speech_end_wins_over_the_older_forms() -> None:
    entries = [
        mark(1.000, Milestone.INPUT_AUDIO_START, 0),
        mark(1.700, "audio.input.speech_end", 0, role="turn"),
        mark(2.000, Milestone.INPUT_AUDIO_END, 0, speech_end_t=1.800),
        mark(2.200, Milestone.OUTPUT_AUDIO_ONSET, 0),
    ]
    (turn,) = turn_latencies(entries)
    assert turn[TurnMetric.VOICE_TO_VOICE] == 500.0
