"""Load mode (``rth serve --load``) against normal mode, over real loopback WebRTC.

A smoke-style push-to-talk turn (typed, and spoken) gives the same events per response and the
same reply, with audible audio, in both modes; a turn nothing needs to hear is neither decoded
nor recognised in load mode, and its reply is rendered once for every call that asks for it.
Pieces without the network: the packet track, Opus encoding once, the undecoded input buffer.
"""

from __future__ import annotations

import asyncio
import queue
from collections.abc import AsyncIterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import av
import numpy as np
import pytest
import pytest_asyncio
import soundfile

from harness.client import RealtimeSession, Target
from harness.client.opus_input import OpusClipCache
from harness.protocol import FRAME_SAMPLES, SAMPLE_RATE
from harness.protocol.standin import PERSONA_HEADER, encode_persona
from harness.server import ResponsePacing, ServerConfig, StandInServer, parse_persona
from harness.server.asr_cache import PacketLog
from harness.server.audio_in import BYTES_PER_MS, InputAudioBuffer
from harness.server.audio_out import PacketAudioTrack
from harness.server.decode_gate import DecodeGate, opus_duration_ms
from harness.server.opus_replies import EncodedSpeech, encode_opus, silence_packet
from harness.server.tts import Speech
from tests.support.conformance import PLAYBACK, assert_links, assert_response_order
from tests.support.raw_peer import SILENT_PEAK, RawPeer, wait_until
from tests.support.standin import API_KEY, SENTENCE, connected

in_module_loop = pytest.mark.asyncio(loop_scope="module")

SUNNY = "It is sunny in Paris today."
WEATHER = parse_persona(
    {
        "name": "weather",
        "rules": [{"match": "weather|paris", "reply": SUNNY}],
        "fallback": "You said: {transcript}.",
    }
)
CANNED_REPLY = "Sure, I can help with that."
CANNED_YAML = f"name: canned\nfallback: '{CANNED_REPLY}'\n"  # no rules, no {transcript}: no ASR needed
# scenarios/smoke.yaml's session: push-to-talk, input transcription on.
SMOKE_INPUT: dict[str, Any] = {
    "turn_detection": None,
    "transcription": {"model": "gpt-4o-mini-transcribe", "language": "en"},
}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def servers() -> AsyncIterator[dict[str, StandInServer]]:
    """A normal and a load-mode stand-in, side by side, with the same default persona."""
    configs = {
        mode: ServerConfig(host="127.0.0.1", port=0, api_key=API_KEY, persona=WEATHER, load=mode == "load")
        for mode in ("normal", "load")
    }
    async with StandInServer(configs["normal"]) as normal, StandInServer(configs["load"]) as load:
        assert load.config.pacing is ResponsePacing.GENERATE_AHEAD
        yield {"normal": normal, "load": load}


@dataclass
class TurnSeen:
    chain: list[str]
    playback: list[str]
    deltas: int
    transcript: str
    loud_frames: int
    input_transcribed: bool


async def smoke_turn(server: StandInServer, spoken: np.ndarray | None) -> TurnSeen:
    """One push-to-talk turn (typed when ``spoken`` is None), answered in full."""
    async with connected(server) as peer:
        await peer.configure(audio={"input": SMOKE_INPUT})
        assert isinstance(server.calls[peer.call_id].track, PacketAudioTrack) is server.config.load
        if spoken is None:
            await peer.type_message(SENTENCE)
        else:
            await peer.player.play(np.concatenate([spoken, np.zeros(SAMPLE_RATE // 4, dtype=np.int16)]))
            peer.send({"type": "input_audio_buffer.commit"})
            await peer.expect("input_audio_buffer.committed")
        response_id = await peer.create_response()
        stopped, _ = await peer.expect("output_audio_buffer.stopped", response_id=response_id, timeout=20)
        if spoken is not None:
            await peer.expect("conversation.item.input_audio_transcription.completed")
        trace = await assert_response_order(peer, response_id, pacing="ahead")
        assert_links(peer)
        # The reply's last frames may still sit in the receiver's jitter buffer (or, in normal
        # mode, the encoder) when `stopped` arrives: count them once later audio has come through.
        stopped_at = peer.events[stopped].at
        await wait_until(lambda: any(f.at > stopped_at + 0.5 for f in peer.audio), what="audio after")
        created_at = peer.events[trace.indices[0]].at
        return TurnSeen(
            chain=trace.chain,
            playback=[t for t in trace.types if t in PLAYBACK],
            deltas=trace.count("response.output_audio_transcript.delta"),
            transcript=trace.done["response"]["output"][0]["content"][0]["transcript"],
            loud_frames=sum(1 for f in peer.audio if f.at > created_at and f.peak > SILENT_PEAK),
            input_transcribed="conversation.item.input_audio_transcription.completed" in peer.types(),
        )


def count_recognitions(server: StandInServer, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The PCM length of every turn the server's recogniser is asked for, from now on."""
    assert server._asr is not None
    recognised: list[int] = []
    transcribe = server._asr.transcribe

    async def counting(pcm: bytes) -> str:
        recognised.append(len(pcm))
        return await transcribe(pcm)

    monkeypatch.setattr(server._asr, "transcribe", counting)
    return recognised


@in_module_loop
@pytest.mark.parametrize("turn", ["typed", "spoken"])
async def test_load_mode_answers_a_smoke_turn_as_normal_mode_does(
    servers: dict[str, StandInServer], sentence_audio: np.ndarray, turn: str
) -> None:
    spoken = sentence_audio if turn == "spoken" else None
    normal, load = await asyncio.gather(
        smoke_turn(servers["normal"], spoken), smoke_turn(servers["load"], spoken)
    )
    assert load.transcript == normal.transcript == SUNNY
    assert (load.chain, load.playback, load.deltas) == (normal.chain, normal.playback, normal.deltas)
    assert load.input_transcribed == normal.input_transcribed == (turn == "spoken")
    assert normal.loud_frames > 40, "normal mode's reply is audible"
    assert abs(load.loud_frames - normal.loud_frames) <= 0.1 * normal.loud_frames, (load, normal)


@in_module_loop
async def test_load_mode_neither_decodes_nor_recognises_what_no_turn_needs(
    servers: dict[str, StandInServer], sentence_audio: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = servers["load"]
    assert server._encoded is not None
    recognised = count_recognitions(server, monkeypatch)
    persona = {PERSONA_HEADER: encode_persona(CANNED_YAML)}
    async with connected(server, headers=persona) as peer, connected(server, headers=persona) as other:
        await peer.configure(audio={"input": {"turn_detection": None, "transcription": None}})
        call = server.calls[peer.call_id]
        assert call.decode_gate is not None
        await spoken_turn(peer, sentence_audio)
        done = await answered(peer, CANNED_REPLY)
        assert done["response"]["usage"]["input_token_details"]["audio_tokens"] >= 25, "~2.5 s counted"
        assert recognised == [] and call.decode_gate.skipped_frames > 100
        assert not any(".input_audio_transcription." in t for t in peer.types())
        item_id = done["response"]["output"][0]["id"]
        user_id = next(
            r.event["item_id"] for r in peer.events if r.event["type"] == "input_audio_buffer.committed"
        )
        peer.send({"type": "conversation.item.retrieve", "item_id": user_id})
        _, retrieved = await peer.expect("conversation.item.retrieved")
        assert retrieved["item"]["content"][0]["transcript"] is None and item_id != user_id

        # The same reply on another call is not rendered again.
        renders = server._encoded.renders
        await other.type_message("can you help me")
        other.send({"type": "response.create"})
        await answered(other, CANNED_REPLY)
        assert server._encoded.renders == renders

        # Asking for transcription turns decoding and recognition back on for the next turn.
        skipped = call.decode_gate.skipped_frames
        await peer.configure(audio={"input": {"transcription": {"model": "gpt-4o-mini-transcribe"}}})
        mark = len(peer.events)
        await spoken_turn(peer, sentence_audio)
        _, completed = await peer.expect("conversation.item.input_audio_transcription.completed", after=mark)
        assert "weather" in completed["transcript"] and len(recognised) == 1
        assert call.decode_gate.skipped_frames - skipped < 10


async def clip_turn(server: StandInServer, session: RealtimeSession, wav: Path, *, vad: bool) -> str:
    """One pre-encoded clip as ``rth load`` sends it, committed by hand or by VAD; the transcript."""
    assert session.call_id is not None
    heard_by_server = server.calls[session.call_id].input_audio
    start_ms = heard_by_server.received_ms
    await session.play(wav)
    if not vad:
        # aiortc's receiver holds the last few packets until more arrive, and a commit can overtake
        # RTP still queued: committing early would cut the clip (a shorter span is other audio,
        # and rightly another key). So commit once the stand-in has the clip and 300 ms of the
        # silence after it (a state, polled; a fixed sleep would race a stalled loop).
        needed_ms = 1000 * soundfile.info(str(wav)).duration + 300
        await wait_until(lambda: heard_by_server.received_ms - start_ms >= needed_ms, what="the clip")
        await session.send({"type": "input_audio_buffer.commit"})
        await session.send({"type": "response.create"})
    heard = await session.wait_for("conversation.item.input_audio_transcription.completed", timeout=20)
    await session.wait_for("response.done", timeout=20)
    return str(heard["transcript"])


@in_module_loop
@pytest.mark.parametrize(("mode", "vad"), [("load", False), ("load", True), ("normal", False)])
async def test_load_mode_recognises_each_distinct_clip_once(
    servers: dict[str, StandInServer],
    sentence_audio: np.ndarray,
    hello_audio: np.ndarray,
    speech_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
    vad: bool,
) -> None:
    server = servers[mode]
    recognised = count_recognitions(server, monkeypatch)
    cache = server.transcript_cache
    assert (cache is None) is (mode == "normal")
    if cache is not None:
        cache.clear()  # the other parameters' turns (a VAD turn keys like the same clip committed by hand)
    before = (cache.recognitions, cache.hits + cache.shared) if cache is not None else (0, 0)
    detection = {"type": "server_vad"} if vad else None
    config = {"type": "realtime", "audio": {"input": {**SMOKE_INPUT, "turn_detection": detection}}}
    clips, target = OpusClipCache(), Target(server.base_url, API_KEY)
    sessions = [
        await RealtimeSession.connect(target, session_config=config, opus_clips=clips, decode_output=False)
        for _ in range(2)
    ]
    sentence, hello = speech_dir / "sentence.wav", speech_dir / "hello.wav"
    async with sessions[0], sessions[1]:
        first = await clip_turn(server, sessions[0], sentence, vad=vad)
        second = await clip_turn(server, sessions[1], sentence, vad=vad)
        hellos = await asyncio.gather(*(clip_turn(server, s, hello, vad=vad) for s in sessions))  # at once
        packets = [server.calls[c].input_audio.packets for c in list(server.calls)[-2:]]

    assert first == second == SENTENCE and hellos[0] == hellos[1] != first
    if cache is None:  # normal mode recognises every turn and logs no packets
        assert len(recognised) == 4 and packets == [None, None]
        return
    assert len(recognised) == 2, "each clip recognised once: the same one hits, another misses"
    assert (cache.recognitions, cache.hits + cache.shared) == (before[0] + 2, before[1] + 2)


async def spoken_turn(peer: RawPeer, audio: np.ndarray) -> None:
    mark = len(peer.events)
    await peer.player.play(np.concatenate([audio, np.zeros(SAMPLE_RATE // 4, dtype=np.int16)]))
    peer.send({"type": "input_audio_buffer.commit"})
    await peer.expect("input_audio_buffer.committed", after=mark)
    peer.send({"type": "response.create"})


async def answered(peer: RawPeer, reply: str) -> dict[str, Any]:
    _, done = await peer.expect("response.done", after=len(peer.events) - 1)
    assert done["response"]["output"][0]["content"][0]["transcript"] == reply
    return done


# -- pieces ------------------------------------------------------------------------------------


def test_replies_encode_to_one_packet_per_frame_and_decode_to_sound(sentence_audio: np.ndarray) -> None:
    packets = encode_opus(sentence_audio)
    assert len(packets) == -(-len(sentence_audio) // FRAME_SAMPLES)
    assert {opus_duration_ms(p) for p in packets} == {20.0}
    decoder = av.CodecContext.create("libopus", "r")
    decoded = np.concatenate(
        [f.to_ndarray().reshape(-1) for p in packets for f in decoder.decode(av.Packet(p))]
    )
    assert np.abs(decoded).max() > 3000
    silent = [f.to_ndarray() for _ in range(3) for f in decoder.decode(av.Packet(silence_packet()))]
    assert np.abs(silent[-1]).max() == 0, "the reply fades out, then the silence packet is silent"


@pytest.mark.asyncio
async def test_packet_track_paces_packets_on_the_sample_clock() -> None:
    track = PacketAudioTrack()
    reply = EncodedSpeech("hi", packets=(b"\x01", b"\x02", b"\x03"), words=(("hi", 0),))
    with pytest.raises(TypeError):
        track.play(Speech("hi", np.zeros(960, dtype=np.int16), ()), tag="resp_pcm")
    segment = track.play(reply, tag="resp_x")
    track.limit(segment, 2 * FRAME_SAMPLES)  # generation stopped after two frames
    sent = [await track.recv() for _ in range(4)]
    assert [p.pts for p in sent] == [0, 960, 1920, 2880]
    assert all(p.time_base == Fraction(1, SAMPLE_RATE) for p in sent)
    assert [bytes(p) for p in sent] == [b"\x01", b"\x02", silence_packet(), silence_packet()]
    assert segment.finished.done() and not segment.cut and segment.played_ms == 40
    track.stop()


def test_the_decode_gate_counts_or_decodes_inline(sentence_audio: np.ndarray) -> None:
    buffer, decoder_queue = InputAudioBuffer(max_seconds=60), queue.Queue[Any]()
    gate, opus = DecodeGate(decoder_queue, buffer), SimpleNamespace(name="opus", clockRate=48000)
    packets = encode_opus(sentence_audio)
    half = len(packets) // 2
    for index, packet in enumerate(packets):
        buffer.decode = index >= half  # as when a session turns transcription on mid-call
        gate.put((opus, SimpleNamespace(data=packet)))
    gate.put(None)  # end of stream: still aiortc's decoder thread's business
    assert decoder_queue.get_nowait() is None and decoder_queue.empty()
    assert (gate.skipped_frames, gate.decoded_frames) == (half, len(packets) - half)
    assert abs(buffer.received_ms - len(packets) * 20) <= 20  # less what the resampler holds back
    pcm, _ = buffer.take()
    assert len(pcm) > (len(packets) - half - 2) * 20 * BYTES_PER_MS
    assert np.abs(np.frombuffer(pcm, dtype=np.int16)).max() > 1000


def test_undecoded_audio_keeps_the_clock_and_the_turn_length() -> None:
    buffer = InputAudioBuffer(max_seconds=1)
    buffer.skip(300)
    buffer.append(b"\x01\x00" * (100 * BYTES_PER_MS // 2))  # 100 ms decoded after 300 ms unheard
    assert (buffer.received_ms, buffer.duration_ms, buffer.start_ms) == (400, 400, 0)
    pcm, ms = buffer.take(from_ms=350)
    assert ms == 50 and len(pcm) == 50 * BYTES_PER_MS
    buffer.skip(5000)
    assert buffer.duration_ms == 1000 and buffer.received_ms == 5400, "bounded like decoded audio"


def test_personas_say_when_their_reply_needs_the_words() -> None:
    canned = parse_persona({"name": "c", "fallback": "Sure.", "no_speech": "Hello?"})
    assert not canned.needs_transcript
    assert (canned.reply_unheard(True), canned.reply_unheard(False)) == (canned.reply("x"), canned.reply(""))
    assert WEATHER.needs_transcript and parse_persona({"name": "echo"}).needs_transcript


def test_packet_fingerprint_ignores_silent_edges_and_nothing_else() -> None:
    silence, clip = b"\xf8\xff\xfe", [bytes([0x78, i]) * 20 for i in range(5)]

    def fingerprint(packets: list[bytes], *, from_ms: float = 0.0, decoded: bool = True) -> Any:
        log = PacketLog(1000)
        for i, payload in enumerate(packets):
            log.record(payload, i * 20.0, 20.0, decoded=decoded)
        return log.fingerprint(from_ms)

    key = fingerprint([silence] * 3 + clip + [silence] * 4)
    assert key is not None and (key.packets, key.length) == (5, 200)
    assert fingerprint([silence] * 9 + clip + [silence] * 3) == key  # other silence around it
    assert fingerprint([silence] * 9 + clip + [silence] * 3, from_ms=150) == key  # a VAD span
    assert fingerprint([silence] * 3 + clip[:4] + [silence] * 4) != key  # a packet short
    changed = [*clip[:2], clip[2][:-1] + b"\x00", *clip[3:]]
    assert fingerprint([silence] * 3 + changed + [silence] * 4) != key  # one byte differs
    assert fingerprint([silence] * 3 + clip + [silence] * 4, decoded=False) is None  # not heard
    assert fingerprint([silence] * 6) is None  # nothing but silence: recognised as it is
    gapped = [*clip[:2], *[silence] * 5, *clip[2:]]
    assert fingerprint(gapped) == fingerprint([*clip[:2], *[silence] * 9, *clip[2:]]) != key  # a gap
