"""Pre-encoded Opus input: encoded once per clip, decodes back to the clip, paced like PCM."""

from __future__ import annotations

import fractions
import math
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile
from aiortc.codecs.opus import OpusEncoder

from harness.client.audio_source import PacedAudioTrack, load_wav
from harness.client.levels import rms_dbfs
from harness.client.opus_input import (
    TIME_BASE,
    EncodedClip,
    OpusClip,
    OpusClipCache,
    OpusPacketProducer,
    encode_opus,
)
from harness.errors import UsageError
from harness.protocol import FRAME_SAMPLES, SAMPLE_RATE

LOOKAHEAD = 312  # libopus encoder delay at 48 kHz, in samples


def tone(path: Path, *, rate: int = 16000, seconds: float = 0.5, amplitude: float = 0.1) -> Path:
    t = np.arange(int(rate * seconds)) / rate
    soundfile.write(str(path), amplitude * np.sin(2 * math.pi * 440 * t), rate, subtype="PCM_16")
    return path


def decode(payloads: list[bytes]) -> np.ndarray:
    """What a receiver hears (mono int16), lookahead removed."""
    codec = av.CodecContext.create("libopus", "r")
    assert isinstance(codec, av.AudioCodecContext)
    codec.sample_rate, codec.layout, codec.format = SAMPLE_RATE, "mono", "s16"
    chunks = []
    for payload in payloads:
        packet = av.Packet(payload)
        chunks.extend(frame.to_ndarray().reshape(-1) for frame in codec.decode(packet))
    return np.concatenate(chunks)[LOOKAHEAD:]


@pytest.mark.parametrize("samples", [0, 1, 647, 648, 649, 960, 961, 2500])
def test_encode_opus_carries_every_sample_in_20ms_packets(samples: int) -> None:
    payloads = encode_opus(np.full(samples, 3000, dtype=np.int16))
    assert len(payloads) == (math.ceil((samples + LOOKAHEAD) / FRAME_SAMPLES) if samples else 0)
    assert len(payloads) in (math.ceil(samples / FRAME_SAMPLES), math.ceil(samples / FRAME_SAMPLES) + 1)


def test_encoded_clip_decodes_back_to_the_clip(tmp_path: Path) -> None:
    samples = load_wav(tone(tmp_path / "t.wav"))
    heard = decode(encode_opus(samples))[: len(samples)]
    assert len(heard) == len(samples)
    assert abs(rms_dbfs(heard) - rms_dbfs(samples)) < 1.0
    assert np.corrcoef(heard.astype(float), samples.astype(float))[0, 1] > 0.95  # aligned, not just loud


def test_cache_encodes_once_per_file_gain_and_trim_and_is_bounded(tmp_path: Path) -> None:
    a, b = tone(tmp_path / "a.wav"), tone(tmp_path / "b.wav", seconds=0.3)
    cache = OpusClipCache(max_clips=2)
    first = cache.get(a)
    assert cache.get(tmp_path / "." / "a.wav") is first and (cache.hits, cache.misses) == (1, 1)
    louder = cache.get(a, gain_db=6.0)
    assert louder is not first and bytes(louder.packets[5]) != bytes(first.packets[5])
    assert len(cache) == 2
    trimmed = cache.get(a, offset_ms=100, duration_ms=200)  # evicts the least recently used
    assert trimmed.samples == round(0.2 * SAMPLE_RATE) and len(cache) == 2
    assert cache.get(a) is not first and cache.misses == 4  # `first` had been evicted
    assert isinstance(cache.get(b), EncodedClip) and cache.get(b).duration_s == pytest.approx(0.3)
    with pytest.raises(UsageError, match=r"missing\.wav"):
        cache.get(tmp_path / "missing.wav")
    for packet in first.packets:
        assert packet.time_base == TIME_BASE


def test_a_rewritten_file_is_encoded_again(tmp_path: Path) -> None:
    path = tone(tmp_path / "a.wav")
    cache = OpusClipCache()
    first = cache.get(path)
    tone(path, seconds=0.8)
    assert cache.get(path).samples == round(0.8 * SAMPLE_RATE) != first.samples


def test_aiortc_packs_our_packets_without_encoding() -> None:
    """The sender's branch for non-Frame data: bytes as they are, RTP timestamp from pts."""
    cache = OpusClipCache()
    packet = cache.silence
    packet.pts = 96_000
    payloads, timestamp = OpusEncoder().pack(packet)
    assert payloads == [bytes(packet)] and timestamp == 96_000
    assert len(bytes(packet)) < 64  # silence is small


async def test_producer_plays_clips_then_silence_with_pcm_callbacks(tmp_path: Path) -> None:
    cache = OpusClipCache()
    encoded = cache.get(tone(tmp_path / "t.wav", seconds=0.05))  # 2400 samples: 3 frames, 3 packets
    assert len(encoded.packets) == 3
    events: list[tuple[str, int]] = []
    producer = OpusPacketProducer(cache)
    clip = OpusClip(
        encoded,
        "t",
        on_start=lambda pts: events.append(("start", pts)),
        on_end=lambda pts: events.append(("end", pts)),
    )
    producer.enqueue(clip)
    now = [10.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    track = PacedAudioTrack(producer, clock=lambda: now[0], sleep=sleep)
    sent = []
    for _ in range(5):
        packet = await track.recv()
        sent.append((packet.pts, bytes(packet), packet.time_base))
    assert [pts for pts, _, _ in sent] == [k * FRAME_SAMPLES for k in range(5)]
    assert [data for _, data, _ in sent[:3]] == [bytes(p) for p in encoded.packets]
    assert sent[3][1] == sent[4][1] == bytes(cache.silence)
    assert all(tb == fractions.Fraction(1, SAMPLE_RATE) for _, _, tb in sent)
    assert events == [("start", 0), ("end", 2 * FRAME_SAMPLES)] and clip.done.result() is True
    assert now[0] == pytest.approx(10.08)  # paced: the 5th packet 80 ms after the first


async def test_producer_cancel_clear_and_empty_clip(tmp_path: Path) -> None:
    cache = OpusClipCache()
    encoded = cache.get(tone(tmp_path / "t.wav"))
    producer = OpusPacketProducer(cache)
    first, second = OpusClip(encoded, "a"), OpusClip(encoded, "b")
    producer.enqueue(first)
    producer.enqueue(second)
    assert producer.produce(0) is encoded.packets[0]
    producer.cancel(first)
    assert first.done.cancelled() and producer.produce(960) is encoded.packets[0]  # b starts
    producer.clear()
    assert second.done.result() is False and producer.produce(1920) is cache.silence
    empty = EncodedClip(key=encoded.key, samples=0, packets=(), payload_bytes=0)
    producer.enqueue(nothing := OpusClip(empty, "empty"))
    assert producer.produce(2880) is cache.silence and nothing.done.result() is True
