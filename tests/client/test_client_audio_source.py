"""WAV loading/conversion, the frame producer and the paced input track."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile

from harness.client.audio_source import (
    Clip,
    PacedAudioTrack,
    PcmFrameProducer,
    frame_count,
    load_wav,
)
from harness.client.levels import rms_dbfs
from harness.errors import UsageError
from harness.protocol import FRAME_SAMPLES, SAMPLE_RATE


def _tone(rate: int, seconds: float, channels: int, amplitude: float = 0.25) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    mono = amplitude * np.sin(2 * math.pi * 440 * t)
    return np.repeat(mono[:, None], channels, axis=1) if channels > 1 else mono


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 48000])
@pytest.mark.parametrize(
    ("subtype", "channels"), [("PCM_U8", 1), ("PCM_16", 1), ("PCM_16", 2), ("PCM_24", 2)]
)
def test_load_wav_converts_to_48k_mono(tmp_path: Path, rate: int, subtype: str, channels: int) -> None:
    seconds = 0.73
    path = tmp_path / f"in_{rate}_{subtype}_{channels}.wav"
    soundfile.write(str(path), _tone(rate, seconds, channels), rate, subtype=subtype)
    samples = load_wav(path)
    n_in = int(rate * seconds)
    assert samples.dtype == np.int16 and samples.ndim == 1
    assert len(samples) == round(n_in * SAMPLE_RATE / rate)
    # A 0.25-amplitude sine is -12 dBFS peak, -15 dBFS RMS, whatever the input format.
    middle = samples[len(samples) // 4 : 3 * len(samples) // 4]
    assert rms_dbfs(middle) == pytest.approx(-15.05, abs=0.3)
    assert frame_count(len(samples)) == math.ceil(len(samples) / FRAME_SAMPLES)


def test_load_wav_gain_and_clipping(tmp_path: Path) -> None:
    path = tmp_path / "tone.wav"
    soundfile.write(str(path), _tone(48000, 0.5, 1), 48000, subtype="PCM_16")
    base = rms_dbfs(load_wav(path))
    assert rms_dbfs(load_wav(path, gain_db=-6.0)) == pytest.approx(base - 6.0, abs=0.05)
    loud = load_wav(path, gain_db=20.0)  # 0.25 * 10 -> clipped, never wrapped around
    assert loud.max() == 32767 and loud.min() == -32768


def test_load_wav_stereo_is_averaged(tmp_path: Path) -> None:
    left = np.full(4800, 0.5)
    right = np.zeros(4800)
    path = tmp_path / "lr.wav"
    soundfile.write(str(path), np.stack([left, right], axis=1), 48000, subtype="PCM_16")
    samples = load_wav(path)
    assert np.all(np.abs(samples.astype(int) - 8192) <= 1)


def test_load_wav_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"missing\.wav"):
        load_wav(tmp_path / "missing.wav")
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not a wav")
    with pytest.raises(UsageError, match=r"bad\.wav"):
        load_wav(bad)


async def test_producer_frames_clip_then_silence_and_callbacks() -> None:
    producer = PcmFrameProducer()
    samples = np.arange(1, 2501, dtype=np.int16)  # 2.6 frames
    events: list[tuple[str, int]] = []
    clip = Clip(
        samples,
        "ramp",
        on_start=lambda pts: events.append(("start", pts)),
        on_end=lambda pts: events.append(("end", pts)),
    )
    producer.enqueue(clip)
    frames = [producer.next_samples(pts) for pts in range(0, 5 * FRAME_SAMPLES, FRAME_SAMPLES)]
    assert all(len(f) == FRAME_SAMPLES for f in frames)
    assert np.array_equal(np.concatenate(frames[:3])[:2500], samples)
    assert not np.concatenate(frames[:3])[2500:].any() and not frames[3].any() and not frames[4].any()
    assert events == [("start", 0), ("end", 2 * FRAME_SAMPLES)]
    assert clip.done.result() is True and not producer.busy


async def test_producer_cancel_and_clear() -> None:
    producer = PcmFrameProducer()
    first = Clip(np.ones(FRAME_SAMPLES * 3, dtype=np.int16), "a")
    second = Clip(np.full(FRAME_SAMPLES, 2, dtype=np.int16), "b")
    producer.enqueue(first)
    producer.enqueue(second)
    assert producer.next_samples(0)[0] == 1
    producer.cancel(first)
    assert producer.next_samples(960)[0] == 2
    assert first.done.cancelled()
    producer.enqueue(third := Clip(np.ones(FRAME_SAMPLES, dtype=np.int16), "c"))
    producer.enqueue(fourth := Clip(np.ones(FRAME_SAMPLES, dtype=np.int16), "d"))
    producer.clear()
    assert third.done.result() is False and fourth.done.result() is False
    assert not producer.next_samples(1920).any()
    producer.enqueue(fifth := Clip(np.ones(FRAME_SAMPLES, dtype=np.int16), "e"))
    producer.clear(RuntimeError("closed"))
    with pytest.raises(RuntimeError, match="closed"):
        fifth.done.result()


async def test_paced_track_pts_and_pacing() -> None:
    """On a virtual clock: frame k is handed over exactly k * 20 ms after the first."""
    now = [50.0]
    handed_at: list[float] = []

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    producer = PcmFrameProducer()
    track = PacedAudioTrack(producer, clock=lambda: now[0], sleep=sleep)
    samples = np.full(FRAME_SAMPLES * 5, 1000, dtype=np.int16)
    producer.enqueue(Clip(samples, "x"))
    n = 30
    frames = []
    for _ in range(n):
        frames.append(await track.recv())
        handed_at.append(now[0])
    assert [f.pts for f in frames] == [i * FRAME_SAMPLES for i in range(n)]
    for frame in frames:
        assert frame.samples == FRAME_SAMPLES and frame.sample_rate == SAMPLE_RATE
        assert frame.format.name == "s16" and frame.layout.name == "mono"
        assert frame.time_base.denominator == SAMPLE_RATE
    assert handed_at == pytest.approx([50.0 + k * 0.020 for k in range(n)], abs=1e-9)
    assert track.stats.frames == n - 1 and track.stats.max_lateness_s == pytest.approx(0.0, abs=1e-9)
    assert frames[4].to_ndarray()[0, 0] == 1000 and not frames[5].to_ndarray().any()


async def test_paced_track_catches_up_after_a_stall_without_resetting_pts() -> None:
    clock = [100.0]
    track = PacedAudioTrack(PcmFrameProducer(), clock=lambda: clock[0])
    await track.recv()
    clock[0] += 0.1  # the loop stalled for 100 ms: 5 frames are due at once
    ptss = [(await track.recv()).pts for _ in range(5)]
    assert ptss == [960, 1920, 2880, 3840, 4800]
    assert track.stats.late_frames == 4 and track.stats.max_lateness_s == pytest.approx(0.08)


async def test_paced_track_stopped_raises() -> None:
    from aiortc.mediastreams import MediaStreamError

    track = PacedAudioTrack(PcmFrameProducer())
    track.stop()
    with pytest.raises(MediaStreamError):
        await track.recv()
    await asyncio.sleep(0)
