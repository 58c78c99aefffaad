"""The turn runner against a scripted session: which client events go out, in which order, what is
played (gain and trim applied, byte for byte), and where speech is marked on the timeline."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import soundfile

from harness.client.audio_source import load_wav
from harness.report.model import FailureKind
from harness.runner import turns as turns_module
from harness.runner.speech import PreparedClip, mark_speech
from harness.runner.turns import await_playout, run_turns
from harness.runner.workers import InlinePool
from harness.scenario import Scenario
from harness.scoring import TurnRecord
from harness.timeline import EntryKind, Milestone, TimelineEntry

if TYPE_CHECKING:
    from tests.support.fake_session import Event, FakeSession, Responder

RATE = 16_000


@pytest.fixture(autouse=True)
def no_capture_tail(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(turns_module, "CAPTURE_TAIL_S", 0.0)


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    """0.5 s silence, 1.0 s of a 0.25-amplitude 440 Hz tone, 0.7 s silence (16 kHz)."""
    t = np.arange(RATE) / RATE
    tone = 0.25 * np.sin(2 * np.pi * 440 * t)
    samples = np.concatenate([np.zeros(RATE // 2), tone, np.zeros(7 * RATE // 10)])
    path = tmp_path / "clips" / "tone.wav"
    path.parent.mkdir()
    soundfile.write(path, samples, RATE, subtype="PCM_16")
    return path


def scenario(folder: Path, **data: Any) -> Scenario:
    return Scenario.model_validate({"name": "s", **data, "source": folder / "s.yaml"})


@pytest.fixture
def server(fake_session: type[FakeSession]) -> Responder:
    """Just enough of the protocol: acks, one response per create, a VAD turn after each clip."""
    return lambda event: respond(event, fake_session.PLAYED)


def respond(event: Event, played: str) -> list[Event]:
    kind = event["type"]
    if kind == "session.update":
        return [{"type": "session.updated", "session": event["session"]}]
    if kind == "input_audio_buffer.commit":
        return [{"type": "input_audio_buffer.committed", "item_id": "item_1"}]
    if kind == "response.create":
        return [
            {"type": "response.created", "response": {"id": "resp_1", "status": "in_progress"}},
            {"type": "response.done", "response": {"id": "resp_1", "status": "completed"}},
        ]
    if kind == "output_audio_buffer.clear":
        return [{"type": "output_audio_buffer.cleared", "response_id": "resp_1"}]
    if kind == "response.cancel":
        error = {"code": "response_cancel_not_active", "event_id": event["event_id"]}
        return [{"type": "error", "error": error}]
    if kind == played and "barge_in" not in event["path"]:
        return [
            {"type": "input_audio_buffer.speech_stopped", "item_id": "item_v"},
            {"type": "response.created", "response": {"id": "resp_v", "status": "in_progress"}},
            {"type": "output_audio_buffer.started", "response_id": "resp_v"},
            {"type": "response.done", "response": {"id": "resp_v", "status": "completed"}},
            {"type": "output_audio_buffer.stopped", "response_id": "resp_v"},
        ]
    return []


def sent_types(session: FakeSession) -> list[str]:
    return [event["type"] for event in session.sent]


async def run(session: FakeSession, loaded: Scenario, audio_dir: Path) -> list[TurnRecord]:
    records: list[TurnRecord] = []
    await run_turns(session, loaded, records, audio_dir, InlinePool())  # type: ignore[arg-type]
    return records


def milestones(session: FakeSession, type_: str) -> list[TimelineEntry]:
    return [e for e in session.timeline.entries if e.kind == EntryKind.MILESTONE and e.type == type_]


async def test_manual_turn_sends_the_trimmed_louder_clip_and_marks_its_speech(
    tmp_path: Path, clip: Path, fake_session: type[FakeSession], server: Responder
) -> None:
    loaded = scenario(
        tmp_path,
        turns=[
            {
                "name": "ask",
                "audio": {"path": "clips/tone.wav", "offset_ms": 200, "duration_ms": 1500, "gain_db": 6},
            }
        ],
    )
    session = fake_session(server)
    (outcome,) = await run(session, loaded, tmp_path / "audio")
    assert outcome.error is None and outcome.mode == "manual"
    assert sent_types(session) == ["input_audio_buffer.commit", "response.create"]
    sent = tmp_path / "audio" / "00-ask.sent.wav"
    assert session.played == [sent] and outcome.audio_sent == sent and outcome.audio_source == clip
    samples, rate = soundfile.read(sent, dtype="int16")
    assert rate == 48_000
    expected = load_wav(clip, gain_db=6)[int(0.2 * 48_000) : int(1.7 * 48_000)]
    assert np.array_equal(samples, expected)  # byte for byte what a 6 dB louder, trimmed replay sends
    assert np.abs(samples).max() / 32768 == pytest.approx(0.25 * 10 ** (6 / 20), abs=2e-3)
    (start,) = milestones(session, Milestone.INPUT_AUDIO_START)
    (speech_start,) = milestones(session, Milestone.INPUT_SPEECH_START)
    (speech_end,) = milestones(session, Milestone.INPUT_SPEECH_END)
    # The tone spans 0.5-1.5 s of the file, so 0.3-1.3 s of what was sent after the 200 ms trim.
    assert speech_start.t == pytest.approx(start.t + 0.3)
    assert speech_end.t == pytest.approx(start.t + 1.3)
    assert speech_start.turn == 0 and speech_end.data["role"] == "turn"
    turn_start = milestones(session, Milestone.TURN_START)[0]
    assert turn_start.data == {"name": "ask", "mode": "manual"}


async def test_turn_detection_switches_only_when_the_mode_changes(
    tmp_path: Path, clip: Path, fake_session: type[FakeSession], server: Responder
) -> None:
    loaded = scenario(
        tmp_path,
        turns=[
            {"audio": "clips/tone.wav", "mode": "vad"},
            {"audio": "clips/tone.wav", "mode": "vad", "actions": [{"wait_for": "response.done"}]},
            {"audio": "clips/tone.wav"},
        ],
    )
    session = fake_session(server)
    outcomes = await run(session, loaded, tmp_path / "audio")
    assert [o.error for o in outcomes] == [None, None, None]
    assert [o.mode for o in outcomes] == ["vad", "vad", "manual"]
    updates = [e["session"] for e in session.sent if e["type"] == "session.update"]
    assert updates == [
        {"type": "realtime", "audio": {"input": {"turn_detection": {"type": "server_vad"}}}},
        {"type": "realtime", "audio": {"input": {"turn_detection": None}}},
    ]
    assert sent_types(session)[-2:] == ["input_audio_buffer.commit", "response.create"]


async def test_vad_turns_use_the_sessions_own_turn_detection(
    tmp_path: Path, clip: Path, fake_session: type[FakeSession], server: Responder
) -> None:
    vad = {"type": "semantic_vad", "eagerness": "high"}
    loaded = scenario(
        tmp_path,
        session={"audio": {"input": {"turn_detection": vad}}},
        turns=[
            {"audio": "clips/tone.wav"},
            {"audio": "clips/tone.wav", "mode": "manual"},
            {"audio": "clips/tone.wav"},
        ],
    )
    session = fake_session(server)
    await run(session, loaded, tmp_path / "audio")
    updates = [
        e["session"]["audio"]["input"]["turn_detection"]
        for e in session.sent
        if e["type"] == "session.update"
    ]
    assert updates == [None, vad]  # nothing to switch for the first turn


async def test_typed_turn_creates_a_user_message(
    tmp_path: Path, fake_session: type[FakeSession], server: Responder
) -> None:
    loaded = scenario(tmp_path, turns=[{"say": "Book a table."}])
    session = fake_session(server)
    (outcome,) = await run(session, loaded, tmp_path / "audio")
    assert outcome.error is None and session.played == []
    assert session.sent[0]["item"] == {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": "Book a table."}],
    }
    assert sent_types(session) == ["conversation.item.create", "response.create"]


async def test_barge_in_waits_for_its_event_then_interrupts_and_speaks(
    tmp_path: Path, clip: Path, fake_session: type[FakeSession], server: Responder
) -> None:
    def with_audio(event: Event) -> list[Event]:
        replies = server(event)
        if event["type"] == "response.create":
            replies.insert(1, {"type": "output_audio_buffer.started", "response_id": "resp_1"})
        return replies

    barge_in = {"after": "output_audio_buffer.started", "audio": "clips/tone.wav", "cancel": True}
    loaded = scenario(
        tmp_path,
        turns=[
            {
                "name": "story",
                "audio": "clips/tone.wav",
                "actions": ["commit", "create_response", {"barge_in": barge_in}, "clear_output", "clear"],
            }
        ],
    )
    session = fake_session(with_audio)
    (outcome,) = await run(session, loaded, tmp_path / "audio")
    assert outcome.error is None
    assert sent_types(session) == [
        "input_audio_buffer.commit",
        "response.create",
        "response.cancel",
        "output_audio_buffer.clear",
        "output_audio_buffer.clear",
        "input_audio_buffer.clear",
    ]
    assert session.played == [
        tmp_path / "audio" / "00-story.sent.wav",
        tmp_path / "audio" / "00-story.barge_in1.sent.wav",
    ]
    roles = [e.data["role"] for e in milestones(session, Milestone.INPUT_SPEECH_START)]
    assert roles == ["turn", "barge_in"]


async def test_raw_events_and_matched_waits(
    tmp_path: Path, fake_session: type[FakeSession], server: Responder
) -> None:
    loaded = scenario(
        tmp_path,
        turns=[
            {
                "say": "hi",
                "actions": [
                    {"send": {"type": "response.cancel", "response_id": "resp_x"}},
                    {"wait_for": {"event": "error", "match": {"error.code": "response_cancel_not_active"}}},
                    {"sleep_ms": 0},
                ],
            }
        ],
    )
    session = fake_session(server)
    (outcome,) = await run(session, loaded, tmp_path / "audio")
    assert outcome.error is None
    assert session.sent[1] == {"event_id": "evt_2", "type": "response.cancel", "response_id": "resp_x"}


async def test_a_wait_that_never_matches_ends_the_run_as_a_timeout(
    tmp_path: Path, fake_session: type[FakeSession], server: Responder
) -> None:
    loaded = scenario(
        tmp_path,
        turns=[
            {
                "say": "hi",
                "actions": [
                    "create_response",
                    {
                        "wait_for": {
                            "event": "response.done",
                            "match": {"response.status": "cancelled"},
                            "timeout_ms": 50,
                        }
                    },
                ],
            },
            {"say": "never runs"},
        ],
    )
    session = fake_session(server)
    outcomes = await run(session, loaded, tmp_path / "audio")
    assert len(outcomes) == 1
    assert outcomes[0].failure_kind == FailureKind.TIMEOUT
    assert outcomes[0].error == "no response.done event within 0.05 s"


async def test_a_rejected_mode_switch_fails_the_turn(
    tmp_path: Path, clip: Path, fake_session: type[FakeSession], server: Responder
) -> None:
    def refuses(event: Event) -> list[Event]:
        if event["type"] == "session.update":
            error = {"code": "invalid_value", "message": "no VAD here", "event_id": event["event_id"]}
            return [{"type": "error", "error": error}]
        return server(event)

    loaded = scenario(tmp_path, turns=[{"audio": "clips/tone.wav", "mode": "vad"}])
    session = fake_session(refuses)
    (outcome,) = await run(session, loaded, tmp_path / "audio")
    assert outcome.failure_kind == FailureKind.PROTOCOL
    assert outcome.error == "switching to vad turns was rejected: invalid_value: no VAD here"
    assert session.played == []


def test_speech_is_marked_from_the_clips_own_start_amid_back_dated_entries(
    tmp_path: Path, fake_session: type[FakeSession]
) -> None:
    session = fake_session()
    timeline = session.timeline
    path = tmp_path / "x.sent.wav"
    before = timeline.now()
    timeline.mark(Milestone.INPUT_AUDIO_START, {"path": str(path)}, t=before + 0.010)
    timeline.mark(Milestone.OUTPUT_AUDIO_ONSET, {}, t=before - 0.050)  # recorded late, stamped early
    timeline.mark(Milestone.INPUT_AUDIO_END, {"path": str(path)}, t=before + 2.000)
    prepared = PreparedClip(source=path, path=path, duration_s=2.0, speech=((0.2, 1.4),))
    assert mark_speech(timeline, prepared, "barge_in", before) == pytest.approx(before + 1.41)
    (start,) = milestones(session, Milestone.INPUT_SPEECH_START)
    assert start.t == pytest.approx(before + 0.21) and start.data["role"] == "barge_in"


def test_a_clip_cut_short_ends_its_speech_at_the_last_frame_sent(
    tmp_path: Path, fake_session: type[FakeSession]
) -> None:
    session = fake_session()
    timeline = session.timeline
    path = tmp_path / "x.sent.wav"
    timeline.mark(Milestone.INPUT_AUDIO_START, {"path": str(path)}, t=20.0)
    timeline.mark(Milestone.INPUT_AUDIO_END, {"path": str(path), "cancelled": True}, t=20.5)
    prepared = PreparedClip(source=path, path=path, duration_s=2.0, speech=((0.2, 1.4),))
    assert mark_speech(timeline, prepared, "turn", 19.0) == 20.5
    cut_before_speech = PreparedClip(source=path, path=path, duration_s=2.0, speech=((0.9, 1.4),))
    assert mark_speech(timeline, cut_before_speech, "turn", 19.0) is None


async def test_playout_waits_for_every_response_of_the_turn(fake_session: type[FakeSession]) -> None:
    session = fake_session()
    for rid in ("resp_a", "resp_b"):
        session.receive({"type": "response.created", "response": {"id": rid}})
        session.receive({"type": "output_audio_buffer.started", "response_id": rid})
        session.receive({"type": "response.done", "response": {"id": rid}})
    session.receive({"type": "output_audio_buffer.cleared", "response_id": "resp_a"})
    with pytest.raises(Exception, match=r"output_audio_buffer\.stopped"):
        await await_playout(session, 0.0)  # type: ignore[arg-type]
    session.receive({"type": "output_audio_buffer.stopped", "response_id": "resp_b"})
    await await_playout(session, 0.0)  # type: ignore[arg-type]
