"""Onsets at packet arrival without decoding: the level rule, the size fallback, the receiver takeover."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import aiortc.clock
import numpy as np
import pytest
from aiortc import RTCRtpReceiver
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpReceiveParameters
from aiortc.rtp import HeaderExtensions

from harness.client.arrival import take_over_receiver
from harness.client.opus_input import encode_opus
from harness.client.packet_levels import LEVEL_OPUS_SIZE, LEVEL_RFC6464, OpusSizeGate, PacketLevelMeter
from harness.errors import HarnessError
from harness.timeline import EntryKind, Milestone, Timeline


@dataclass
class Packet:
    """The fields of aiortc's RtpPacket the meter reads."""

    payload: bytes
    extensions: HeaderExtensions = field(default_factory=HeaderExtensions)
    timestamp: int = 0
    sequence_number: int = 0


def leveled(level: int, size: int = 100) -> Packet:
    return Packet(b"\xfc" * size, HeaderExtensions(audio_level=(False, level)))


def milestones(timeline: Timeline) -> list[tuple[str, float, dict[str, object]]]:
    return [(e.type, round(e.t, 3), e.data) for e in timeline if e.kind == EntryKind.MILESTONE]


def feed(meter: PacketLevelMeter, packets: list[Packet], origin: float) -> None:
    """Packets 20 ms apart, the first arriving at monotonic ``origin``."""
    for i, packet in enumerate(packets):
        meter.on_packet(packet, origin + 0.020 * i)


def now() -> float:
    return time.monotonic()


def test_audio_level_extension_decides_at_the_threshold() -> None:
    timeline = Timeline("t")
    meter = PacketLevelMeter(timeline, threshold_dbfs=-50.0, hangover_frames=3)
    # levels are -dBov: 127 silence, 50 exactly the threshold (loud), 51 just below it
    levels = [127, 51, 50, 20, 127, 127, 30, 127, 127, 127, 127]
    start = now() - 1.0
    feed(meter, [leveled(level) for level in levels], start)
    found = milestones(timeline)
    assert [(kind, data) for kind, _, data in found] == [
        (Milestone.OUTPUT_AUDIO_ONSET, {"clock": "arrival", "level": LEVEL_RFC6464, "dbfs": -50.0}),
        (Milestone.OUTPUT_AUDIO_OFFSET, {"clock": "arrival", "level": LEVEL_RFC6464, "dbfs": -30.0}),
    ]
    # stamped at the arrival of packets 2 (onset) and 6 (last loud)
    onset_t, offset_t = found[0][1], found[1][1]
    assert offset_t - onset_t == pytest.approx(0.080, abs=0.002)
    assert onset_t == pytest.approx(timeline.at(start + 0.040), abs=0.002)
    assert (meter.packets, meter.packets_with_level, meter.loud_packets) == (11, 11, 3)


def test_offset_of_a_reply_still_sounding_when_the_stream_ends() -> None:
    timeline = Timeline("t")
    meter = PacketLevelMeter(timeline)
    feed(meter, [leveled(127), leveled(10), leveled(12)], now())
    meter.finish()
    assert [kind for kind, _, _ in milestones(timeline)] == [
        Milestone.OUTPUT_AUDIO_ONSET,
        Milestone.OUTPUT_AUDIO_OFFSET,
    ]


def test_loss_is_counted_from_sequence_gaps() -> None:
    meter = PacketLevelMeter(Timeline("t"))
    kept = [n for n in range(65530, 65536 + 20) if n % 7 != 3]  # wraps past 65535; every 7th lost
    for n in kept:
        meter.on_packet(Packet(b"\xfc\xff\xfe", timestamp=960 * n, sequence_number=n % 65536), now())
    assert meter.sequence.packets == len(kept)
    assert meter.sequence.lost == (kept[-1] - kept[0] + 1) - len(kept) > 0


def test_level_changes_carry_the_turn_of_the_deciding_packet() -> None:
    timeline = Timeline("t")
    meter = PacketLevelMeter(timeline, hangover_frames=2)
    timeline.turn = 0
    feed(meter, [leveled(10), leveled(127)], now())
    timeline.turn = 1  # the runner moved on before the hangover ended
    meter.on_packet(leveled(127), now())
    assert [e.turn for e in timeline if e.kind == EntryKind.MILESTONE] == [0, 0]
    assert timeline.turn == 1


def test_size_gate_tells_real_opus_silence_from_sound() -> None:
    rng = np.random.default_rng(1)
    silence = encode_opus(np.zeros(960 * 10, dtype=np.int16))
    speechlike = encode_opus(rng.normal(0, 32768 * 10 ** (-45 / 20), 960 * 10).astype(np.int16))
    for bitrate in (32_000, 96_000):
        gate = OpusSizeGate()
        quiet = [gate.loud(len(p)) for p in encode_opus(np.zeros(960 * 10, dtype=np.int16), bitrate=bitrate)]
        loud = [
            gate.loud(len(p))
            for p in encode_opus(rng.normal(0, 300, 960 * 10).astype(np.int16), bitrate=bitrate)
        ]
        assert not any(quiet[2:]) and all(loud[2:]), (bitrate, gate.floor)
    gate = OpusSizeGate()
    assert [gate.loud(n) for n in (1, 2)] == [False, False] and gate.floor is None  # DTX / lost-frame markers
    assert len(silence[-2]) < len(speechlike[-2])


def test_without_the_extension_the_size_gate_decides() -> None:
    timeline = Timeline("t")
    meter = PacketLevelMeter(timeline, hangover_frames=2)
    feed(
        meter,
        [Packet(b"\xfc\xff\xfe"), Packet(b"\xfc\xff\xfe"), Packet(b"\xfc" * 120), Packet(b"\xfc\xff\xfe")]
        * 2,
        now(),
    )
    assert [(kind, data) for kind, _, data in milestones(timeline)] == [
        (Milestone.OUTPUT_AUDIO_ONSET, {"clock": "arrival", "level": LEVEL_OPUS_SIZE}),
        (Milestone.OUTPUT_AUDIO_OFFSET, {"clock": "arrival", "level": LEVEL_OPUS_SIZE}),
        (Milestone.OUTPUT_AUDIO_ONSET, {"clock": "arrival", "level": LEVEL_OPUS_SIZE}),
    ]
    assert meter.packets_with_level == 0


class FakeTransport:
    """What RTCRtpReceiver needs of an RTCDtlsTransport: a state and the RTP router calls."""

    state = "connected"

    def __init__(self) -> None:
        self.registered: list[tuple[Any, Any]] = []
        self.unregistered: list[Any] = []

    def _register_rtp_receiver(self, receiver: Any, parameters: Any) -> None:
        self.registered.append((receiver, parameters))

    def _unregister_rtp_receiver(self, receiver: Any) -> None:
        self.unregistered.append(receiver)


async def test_taken_over_receiver_routes_packets_to_the_observer_and_never_decodes() -> None:
    transport = FakeTransport()
    receiver = RTCRtpReceiver("audio", transport)  # type: ignore[arg-type]
    seen: list[tuple[Any, float]] = []
    take_over_receiver(receiver, lambda packet, arrival: seen.append((packet, arrival)))
    opus = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2, payloadType=96)
    parameters = RTCRtpReceiveParameters(codecs=[opus])
    await receiver.receive(parameters)
    await receiver.receive(parameters)  # renegotiation: registered once
    assert transport.registered == [(receiver, parameters)]
    assert receiver._RTCRtpReceiver__decoder_thread is None  # type: ignore[attr-defined]
    packet = leveled(20)
    before = time.monotonic()
    await receiver._handle_rtp_packet(packet, arrival_time_ms=aiortc.clock.current_ms() - 30)
    after = time.monotonic()
    [(seen_packet, arrival)] = seen  # aiortc's NTP-epoch ms, converted to the monotonic clock
    assert seen_packet is packet
    # 30 ms before the call, give or take aiortc's whole milliseconds (bracketed, so a preemption
    # in between widens the window instead of failing)
    assert before - 0.030 - 0.002 <= arrival <= after - 0.030 + 0.002
    await receiver.stop()
    await receiver.stop()
    assert transport.unregistered == [receiver]
    await asyncio.sleep(0)


def test_no_decode_capture_refuses_to_record(tmp_path: Any) -> None:
    from harness.client.packet_levels import PacketLevelCapture

    capture = PacketLevelCapture(Timeline("t"))
    assert not capture.recording
    with pytest.raises(HarnessError, match="decode_output=False"):
        capture.begin_segment(tmp_path / "x.wav")
    with pytest.raises(HarnessError, match="decode_output=False"):
        capture.end_segment()
