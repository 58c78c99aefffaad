"""End to end over real loopback WebRTC against the raw-aiortc answerer (tests/support/fake_realtime.py)."""

from __future__ import annotations

import asyncio
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
import soundfile

from harness.client import CapturedAudio, ConnectMode, RealtimeSession, Target
from harness.client.events import INVALID_MESSAGE
from harness.errors import AuthenticationError, ConnectError
from harness.timeline import EntryKind, Milestone, Timeline

if TYPE_CHECKING:
    from tests.support.fake_realtime import FakeRealtime

SESSION = {"type": "realtime", "instructions": "Be brief.", "audio": {"input": {"turn_detection": None}}}
CONNECT_PHASES = [
    Milestone.CONNECT_START,
    Milestone.SDP_OFFER_CREATED,
    Milestone.SDP_ANSWER_RECEIVED,
    Milestone.ICE_CONNECTED,
    Milestone.PEER_CONNECTED,
    Milestone.CHANNEL_OPEN,
    Milestone.SESSION_READY,
]


def marks(timeline: Timeline) -> dict[str, float]:
    """First t of each milestone."""
    found: dict[str, float] = {}
    for entry in timeline:
        if entry.kind == EntryKind.MILESTONE:
            found.setdefault(entry.type, entry.t)
    return found


def tone_wav(path: Path, *, rate: int, lead_s: float, tone_s: float, tail_s: float) -> Path:
    """Silence, a -20 dBFS 440 Hz tone, silence: an unmistakable onset and offset."""
    t = np.arange(int(rate * tone_s)) / rate
    tone = 0.1 * np.sin(2 * math.pi * 440 * t)
    samples = np.concatenate([np.zeros(int(rate * lead_s)), tone, np.zeros(int(rate * tail_s))])
    soundfile.write(str(path), samples, rate, subtype="PCM_16")
    return path


async def test_unified_connect_marks_every_phase_then_hangs_up(fake: FakeRealtime, api_key: str) -> None:
    timeline = Timeline("unified")
    session = await RealtimeSession.connect(
        Target(fake.base_url, api_key), timeline=timeline, session_config=SESSION, timeout=10
    )
    async with session:
        assert session.call_id is not None and session.call_id.startswith("rtc_")
        assert session.call_id in fake.calls
        found = marks(timeline)
        assert [m for m in CONNECT_PHASES if m in found] == CONNECT_PHASES
        assert Milestone.CLIENT_SECRET_CREATED not in found
        times = [found[m] for m in CONNECT_PHASES]
        assert times == sorted(times)
        # session.created consumed by connect, session.update sent with our config, answered.
        types = [e["type"] for e in session.received]
        assert types[:2] == ["session.created", "session.updated"]
        update = fake.calls[session.call_id].received[0]
        assert update["type"] == "session.update" and update["session"] == SESSION
        # Offer: loopback candidates only, Opus only, our data channel label.
        offer = fake.requests[0]["offer"]
        candidates = re.findall(r"a=candidate:\S+ \d+ udp \d+ (\S+)", offer)
        assert candidates and set(candidates) == {"127.0.0.1"}
        audio_codecs = re.findall(r"a=rtpmap:\d+ ([^/\r]+)", offer)
        assert set(audio_codecs) == {"opus"}
        assert fake.calls[session.call_id].channel.label == "oai-events"
        print(
            "\nconnect phases (ms from start): "
            + ", ".join(
                f"{m.split('.')[-1]}={1000 * (found[m] - found[CONNECT_PHASES[0]]):.1f}"
                for m in CONNECT_PHASES
            )
        )
    # Closed by the context manager: hangup posted and recorded, idempotent.
    assert fake.hangups == [session.call_id]
    hangup = next(e for e in timeline if e.type == Milestone.HANGUP)
    assert hangup.data == {"call_id": session.call_id, "status": 200}
    await session.close()
    assert [e.type for e in timeline].count(Milestone.CLOSED) == 1
    with pytest.raises(ConnectError, match="closed"):
        await session.send({"type": "response.create"})


async def test_ephemeral_connect_uses_a_client_secret_and_raw_sdp(fake: FakeRealtime, api_key: str) -> None:
    timeline = Timeline("ephemeral")
    async with await RealtimeSession.connect(
        Target(fake.base_url, api_key, "gpt-realtime-mini"),
        timeline=timeline,
        session_config=SESSION,
        mode=ConnectMode.EPHEMERAL,
        timeout=10,
    ) as session:
        found = marks(timeline)
        assert found[Milestone.CONNECT_START] <= found[Milestone.CLIENT_SECRET_CREATED]
        assert found[Milestone.CLIENT_SECRET_CREATED] <= found[Milestone.SDP_OFFER_CREATED]
        assert Milestone.SESSION_READY in found
        secret_request, call_request = fake.requests
        assert secret_request["body"]["session"] == {"type": "realtime", "model": "gpt-realtime-mini"}
        assert call_request["content_type"] == "application/sdp" and call_request["bearer"] == "ek_"
        assert session.mode is ConnectMode.EPHEMERAL


async def test_events_round_trip_and_invalid_json_is_recorded(fake: FakeRealtime, api_key: str) -> None:
    async with await RealtimeSession.connect(
        Target(fake.base_url, api_key), session_config=SESSION
    ) as session:
        t0 = session.timeline.now()
        sent = await session.send({"type": "input_audio_buffer.commit"})
        assert sent["event_id"].startswith("evt_")
        committed = await session.wait_for("input_audio_buffer.committed", timeout=5, after=t0)
        assert committed["item_id"] == "item_1"
        await session.send({"type": "rth.test.raw", "raw": "{this is not json"})
        await session.send({"type": "input_audio_buffer.commit"})
        await session.wait_for("input_audio_buffer.committed", timeout=5)  # still alive, and ordered
        unknown = await session.send({"type": "no.such.event"})
        error = await session.wait_for("error", timeout=5)
        assert error["error"]["event_id"] == unknown["event_id"]
        invalid = [e for e in session.timeline if e.type == INVALID_MESSAGE]
        assert len(invalid) == 1 and invalid[0].data["raw"] == "{this is not json"
        assert len(session.events.protocol_errors) == 1


async def test_play_and_capture_round_trip_with_onset_at_packet_arrival(
    fake: FakeRealtime, tmp_path: Path, api_key: str
) -> None:
    wav = tone_wav(tmp_path / "tone16k.wav", rate=16000, lead_s=0.2, tone_s=0.4, tail_s=0.2)
    timeline = Timeline("echo")
    async with await RealtimeSession.connect(
        Target(fake.base_url, api_key), timeline=timeline, session_config=SESSION
    ) as session:
        session.begin_output_recording(tmp_path / "out" / "turn0.wav")
        await session.play(wav)
        end_t = timeline.now()
        await asyncio.sleep(0.9)  # echo latency + the 500 ms offset hangover
        async with asyncio.timeout(10):  # a loaded machine may need longer: wait for the offset itself
            while Milestone.OUTPUT_AUDIO_OFFSET not in marks(timeline):
                await asyncio.sleep(0.02)
        captured = session.end_output_recording()
        pacing = session.track.stats

    assert isinstance(captured, CapturedAudio) and captured.non_silent
    assert captured.duration_s >= 0.8  # the capture ran while the clip played and after
    assert -24 < captured.peak_dbfs < -17  # a -20 dBFS tone through Opus twice
    data, rate = soundfile.read(str(captured.path), dtype="int16")
    assert rate == 48000 and data.ndim == 1

    found = marks(timeline)
    start, end = found[Milestone.INPUT_AUDIO_START], found[Milestone.INPUT_AUDIO_END]
    assert end <= end_t
    # 40 frames handed over in order (wall-clock spacing is pacing, measured in bench/: a late
    # first frame is followed by catch-up frames sent back to back).
    start_pts, end_pts = (
        next(e.data["pts"] for e in timeline if e.type == kind)
        for kind in (Milestone.INPUT_AUDIO_START, Milestone.INPUT_AUDIO_END)
    )
    assert end_pts - start_pts == 39 * 960 and end > start
    onset = next(e for e in timeline if e.type == Milestone.OUTPUT_AUDIO_ONSET)
    offset = next(e for e in timeline if e.type == Milestone.OUTPUT_AUDIO_OFFSET)
    assert onset.data["clock"] == "arrival" and offset.data["clock"] == "arrival"
    tone_sent = start + 0.2
    round_trip = onset.t - tone_sent
    delivery_lag = onset.data["delivery_t"] - onset.t
    # Structure only (timing figures belong in bench/): the echo comes back after the tone was
    # sent, the onset is stamped at packet arrival before the jitter buffer delivered the frame,
    # and the tone's offset follows its onset.
    assert round_trip > 0.0
    assert delivery_lag > 0.0
    assert offset.t > onset.t
    print(
        f"\necho round trip (tone sent -> echoed packet arrival) {1000 * round_trip:.1f} ms; "
        f"onset delivery lag {1000 * delivery_lag:.1f} ms; pacing mean lateness "
        f"{1000 * pacing.mean_lateness_s:.2f} ms, max {1000 * pacing.max_lateness_s:.2f} ms "
        f"over {pacing.frames} frames"
    )


async def playing(session: RealtimeSession) -> None:
    """Until the clip just handed to play() has started (one more INPUT_AUDIO_START mark than ends)."""

    def count(kind: Milestone) -> int:
        return sum(1 for e in session.timeline if e.type == kind)

    for _ in range(500):
        if count(Milestone.INPUT_AUDIO_START) > count(Milestone.INPUT_AUDIO_END):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("play() never started")


async def test_cut_short_play_still_marks_its_end(fake: FakeRealtime, tmp_path: Path, api_key: str) -> None:
    wav = tone_wav(tmp_path / "long.wav", rate=48000, lead_s=0.0, tone_s=2.0, tail_s=0.0)
    async with await RealtimeSession.connect(Target(fake.base_url, api_key), session_config=None) as session:
        # 1. The caller cancels play().
        task = asyncio.ensure_future(session.play(wav))
        await playing(session)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not session.producer.busy
        # 2. stop_audio() (barge-in style): play() returns normally.
        task = asyncio.ensure_future(session.play(wav))
        await playing(session)
        session.stop_audio()
        await asyncio.wait_for(task, 1.0)
        # 3. The session closes under play(): ConnectError.
        task = asyncio.ensure_future(session.play(wav))
        await playing(session)
        await session.close()
        with pytest.raises(ConnectError, match="closed while audio was playing"):
            await task
        ends = [e for e in session.timeline if e.type == Milestone.INPUT_AUDIO_END]
        assert [e.data.get("cancelled") for e in ends] == [True, True, True]
        # No session_config: ready as soon as session.created arrived, nothing sent.
        assert not [e for e in session.timeline if e.kind == EntryKind.SENT]


async def test_rejected_session_update_fails_connect_and_cleans_up(fake: FakeRealtime, api_key: str) -> None:
    fake.reject_session_update = True
    with pytest.raises(ConnectError, match=r"session\.update rejected.*invalid_value") as info:
        await RealtimeSession.connect(Target(fake.base_url, api_key), session_config=SESSION, timeout=10)
    assert api_key not in str(info.value)
    assert len(fake.hangups) == 1  # the call existed: it was hung up


async def test_missing_session_created_times_out_naming_the_step(fake: FakeRealtime, api_key: str) -> None:
    fake.send_session_created = False
    timeline = Timeline("silent")
    with pytest.raises(ConnectError, match=r"timed out after 1\.5 s.*connect\.channel_open"):
        await RealtimeSession.connect(
            Target(fake.base_url, api_key), timeline=timeline, session_config=SESSION, timeout=1.5
        )
    assert timeline.entries[-1].type == Milestone.CLOSED


async def test_wrong_key_is_an_authentication_error(fake: FakeRealtime) -> None:
    for mode in ConnectMode:
        with pytest.raises(AuthenticationError) as info:
            await RealtimeSession.connect(Target(fake.base_url, "sk-nope-123456"), mode=mode, timeout=5)
        assert "sk-nope-123456" not in str(info.value) and "HTTP 401" in str(info.value)


async def test_against_the_stand_in_server_when_available(tmp_path: Path) -> None:
    try:
        from harness.server import ServerConfig, StandInServer  # type: ignore[attr-defined]
    except ImportError:
        pytest.skip("harness.server.StandInServer is not available yet")
    async with StandInServer(ServerConfig(host="127.0.0.1", port=0, api_key="sk-test")) as server:
        for mode in ConnectMode:
            timeline = Timeline(f"stand-in-{mode}")
            async with await RealtimeSession.connect(
                Target(server.base_url, "sk-test"), timeline=timeline, session_config=SESSION, mode=mode
            ) as session:
                assert Milestone.SESSION_READY in marks(timeline)
                assert session.call_id and session.call_id.startswith("rtc_")
