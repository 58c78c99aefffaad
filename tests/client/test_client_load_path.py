"""The load path over real loopback WebRTC against the stand-in: pre-encoded input reaches the
server intact, and onsets found at packet arrival without decoding agree with the decoded truth."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from harness.client import RealtimeSession, Target
from harness.client.arrival import observe_rtp_packets
from harness.client.opus_input import OpusClipCache
from harness.client.packet_levels import LEVEL_OPUS_SIZE, LEVEL_RFC6464, PacketLevelMeter
from harness.errors import HarnessError
from harness.server import ServerConfig, StandInServer
from harness.timeline import Milestone, Timeline

KEY = "sk-test-load-path"
SESSION = {"type": "realtime", "audio": {"input": {"turn_detection": None}}}
SENTENCE = "what is the weather like in paris today"
FRAME_S = 0.020

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server() -> AsyncIterator[StandInServer]:
    async with StandInServer(ServerConfig(host="127.0.0.1", port=0, api_key=KEY)) as running:
        yield running


@pytest.fixture(scope="module")
def sentence_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("speech") / "sentence.wav"
    subprocess.run(["flite", "-voice", "slt", "-t", SENTENCE, "-o", str(path)], check=True)
    return path


def onsets(timeline: Timeline) -> list[tuple[float, dict[str, Any]]]:
    return [(e.t, e.data) for e in timeline if e.type == Milestone.OUTPUT_AUDIO_ONSET]


def offsets(timeline: Timeline) -> list[float]:
    return [e.t for e in timeline if e.type == Milestone.OUTPUT_AUDIO_OFFSET]


async def settled(*timelines: Timeline, count: int) -> None:
    """Until each timeline has ``count`` offsets (the hangover follows the reply's end)."""
    async with asyncio.timeout(10):
        while any(len(offsets(t)) < count for t in timelines):
            await asyncio.sleep(0.02)


async def say_text(session: RealtimeSession, text: str) -> float:
    """A text turn (no ASR) until its reply stopped playing; returns when it was asked for."""
    asked = session.timeline.now()
    await session.send(
        {
            "type": "conversation.item.create",
            "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]},
        }
    )
    await session.send({"type": "response.create"})
    await session.wait_for("output_audio_buffer.stopped", timeout=20)
    return asked


def first_onset_after(timeline: Timeline, t: float) -> tuple[float, dict[str, Any]]:
    return next((ot, data) for ot, data in onsets(timeline) if ot >= t)


async def test_packet_arrival_onsets_agree_with_decoded_audio_within_a_frame(server: StandInServer) -> None:
    """One decoding session; on the same packets, the non-decoding meter with the RFC 6464 level
    and with the Opus size fallback. Each reply's first onset: the three within 20 ms."""
    session = await RealtimeSession.connect(Target(server.base_url, KEY), session_config=SESSION)
    async with session:
        by_level, by_size = Timeline("level"), Timeline("size")
        by_level.origin = by_size.origin = session.timeline.origin
        receiver = session.pc.getTransceivers()[0].receiver
        level_meter = PacketLevelMeter(by_level)
        size_meter = PacketLevelMeter(by_size, use_audio_level=False)
        observe_rtp_packets(receiver, level_meter.on_packet, session.datagrams)
        observe_rtp_packets(receiver, size_meter.on_packet, session.datagrams)
        asked = []
        for i, text in enumerate(["hello there", "the sky is blue", "good morning"]):
            asked.append(await say_text(session, text))
            await settled(session.timeline, by_level, by_size, count=i + 1)  # size offsets come later

    assert level_meter.packets_with_level == level_meter.packets > 100  # the stand-in sends the level
    assert size_meter.packets_with_level == 0
    for t in asked:
        decoded, decoded_data = first_onset_after(session.timeline, t)
        level, level_data = first_onset_after(by_level, t)
        size, size_data = first_onset_after(by_size, t)
        level_ms, size_ms = 1000 * (level - decoded), 1000 * (size - decoded)
        print(f"\nonset minus decoded onset: level {level_ms:+.1f} ms, size {size_ms:+.1f} ms")
        assert decoded_data["clock"] == level_data["clock"] == size_data["clock"] == "arrival"
        assert level_data["level"] == LEVEL_RFC6464 and size_data["level"] == LEVEL_OPUS_SIZE
        assert abs(level - decoded) <= FRAME_S + 1e-6, (level, decoded)
        assert abs(size - decoded) <= FRAME_S + 1e-6, (size, decoded)


async def test_load_session_sends_pre_encoded_speech_and_never_decodes(
    server: StandInServer, sentence_wav: Path
) -> None:
    """The same spoken turn from a default session and a load session, side by side: the server
    hears the same words, both get the same reply, and the load session's receiver never decoded."""
    cache = OpusClipCache()

    async def turn(session: RealtimeSession) -> tuple[str, str]:
        await session.play(sentence_wav)
        await session.send({"type": "input_audio_buffer.commit"})
        await session.send({"type": "response.create"})
        heard = await session.wait_for("conversation.item.input_audio_transcription.completed", timeout=20)
        reply = await session.wait_for("response.output_audio_transcript.done", timeout=20)
        await session.wait_for("output_audio_buffer.stopped", timeout=20)
        await settled(session.timeline, count=1)
        return str(heard["transcript"]), str(reply["transcript"])

    target = Target(server.base_url, KEY)
    default = await RealtimeSession.connect(target, session_config=SESSION)
    load = await RealtimeSession.connect(
        target, session_config=SESSION, opus_clips=cache, decode_output=False
    )
    async with default, load:
        pcm_turn, opus_turn = await asyncio.gather(turn(default), turn(load))
        receiver = load.pc.getTransceivers()[0].receiver
        assert receiver._RTCRtpReceiver__decoder_thread is None  # never started
        assert receiver.track._queue.qsize() == 0  # nothing piles up on the unconsumed track
        assert load.output_audio_active is False
        with pytest.raises(HarnessError, match="decode_output=False"):
            load.begin_output_recording(Path("never.wav"))
        counted = await load.rtp_stats()  # counted by the meter: aiortc's receiver never sees them
        assert counted.packets_received is not None and counted.packets_received > 100
        assert counted.packets_lost == 0 and counted.jitter_ms is not None

    assert opus_turn == pcm_turn and opus_turn[0] == SENTENCE
    assert cache.misses == 1 and len(cache) == 1
    starts = [e for e in load.timeline if e.type == Milestone.INPUT_AUDIO_START]
    assert starts[0].data["path"] == str(sentence_wav) and starts[0].data["duration_s"] > 2
    for session, level in ((default, None), (load, LEVEL_RFC6464)):
        marks = [e for e in session.timeline if e.type.startswith("audio.output.")]
        assert [e.type for e in marks] == [Milestone.OUTPUT_AUDIO_ONSET, Milestone.OUTPUT_AUDIO_OFFSET]
        assert [e.data["clock"] for e in marks] == ["arrival", "arrival"]
        assert [e.data.get("level") for e in marks] == [level, level]
    assert load.track.stats.frames > 100 and load.capture.meter.packets > 100


@pytest.mark.parametrize("decode_output", [True, False], ids=["decoding", "load-path"])
async def test_onsets_are_stamped_when_the_stand_ins_first_packet_arrived(decode_output: bool) -> None:
    """Each reply's onset (kernel receive stamp of its first loud packet) against the stand-in's own
    record of when that packet left its socket (harness.server.send_clock): the same packet seen
    from both ends of loopback, so within one frame whatever the loops were doing. (A first-audio
    delay makes the stand-in keep its timing records.)"""
    config = ServerConfig(host="127.0.0.1", port=0, api_key=KEY, first_audio_delay_ms=200)
    async with StandInServer(config) as server:
        session = await RealtimeSession.connect(
            Target(server.base_url, KEY), session_config=SESSION, decode_output=decode_output
        )
        await _two_replies_against_the_timing_log(server, session)


async def _two_replies_against_the_timing_log(server: StandInServer, session: RealtimeSession) -> None:
    async with session:
        asked = []
        for i, text in enumerate(("hello there", "good morning")):
            asked.append(await say_text(session, text))
            await settled(session.timeline, count=i + 1)  # one onset per reply, not one merged
        created = [e.data["response"]["id"] for e in session.timeline if e.type == "response.created"]
        records = [server.timing_log.for_response(response_id) for response_id in created]
        async with asyncio.timeout(15):  # the record completes once the packet was seen leaving
            while any(record is None or record.actual_at is None for record in records):
                await asyncio.sleep(0.02)
                records = [server.timing_log.for_response(response_id) for response_id in created]

    assert session.datagrams.stamped > 100 and session.datagrams.unstamped == 0
    for t, record in zip(asked, records, strict=True):
        assert record is not None and record.actual_at is not None
        onset, data = first_onset_after(session.timeline, t)
        error_s = onset + session.timeline.origin - record.actual_at
        print(f"\nonset minus the stand-in's send: {1000 * error_s:+.2f} ms ({data['clock']})")
        assert data["clock"] == "arrival"
        assert -0.002 <= error_s <= FRAME_S, error_s
