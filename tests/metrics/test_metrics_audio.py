"""Known answers for levels and the energy VAD on synthetic signals at 48 kHz."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import soundfile

from harness.metrics import (
    DBFS_FLOOR,
    SILENCE_DBFS,
    active_duration_s,
    frame_dbfs,
    frame_levels,
    is_silent,
    peak_dbfs,
    speech_end_s,
    speech_segments,
)

RATE = 48_000


def tone(seconds: float, amplitude: float, freq: float = 1000.0) -> npt.NDArray[np.float64]:
    t = np.arange(round(seconds * RATE)) / RATE
    return amplitude * np.sin(2 * np.pi * freq * t)


def burst(
    start_s: float, end_s: float, total_s: float = 1.0, amplitude: float = 0.5
) -> npt.NDArray[np.float64]:
    signal = np.zeros(round(total_s * RATE))
    first, last = round(start_s * RATE), round(end_s * RATE)
    signal[first:last] = tone(total_s, amplitude)[: last - first]
    return signal


def test_sine_level_uses_square_wave_reference() -> None:
    # 20 ms of 1 kHz = 20 whole periods, so the RMS is exactly A / sqrt(2).
    assert frame_dbfs(tone(0.02, 0.5)) == pytest.approx(20 * math.log10(0.5 / math.sqrt(2)), abs=1e-9)
    assert frame_dbfs(tone(0.02, 1.0)) == pytest.approx(-3.0103, abs=1e-4)
    assert frame_dbfs(np.array([1.0, -1.0, 1.0, -1.0])) == 0.0  # full-scale square


def test_int16_scaling() -> None:
    assert frame_dbfs(np.full(960, -32768, dtype=np.int16)) == 0.0
    assert frame_dbfs(np.full(960, 16384, dtype=np.int16)) == pytest.approx(-6.0206, abs=1e-4)
    assert frame_dbfs(np.full(960, 1 << 30, dtype=np.int32)) == pytest.approx(-6.0206, abs=1e-4)


def test_channels_pool_power() -> None:
    stereo = np.stack([np.ones(960), np.zeros(960)], axis=1)
    assert frame_dbfs(stereo) == pytest.approx(-3.0103, abs=1e-4)


def test_silence_reads_the_floor() -> None:
    silence = np.zeros(RATE)
    assert frame_dbfs(silence) == DBFS_FLOOR
    assert peak_dbfs(silence) == DBFS_FLOOR
    assert is_silent(silence)
    assert is_silent(np.zeros(0))
    assert speech_segments(silence) == []
    assert speech_end_s(silence) is None
    assert active_duration_s(silence) == 0.0


def test_threshold() -> None:
    assert SILENCE_DBFS == -50.0
    quiet = tone(0.1, math.sqrt(2) * 10 ** (-60 / 20))  # -60 dBFS RMS
    loud = tone(0.1, math.sqrt(2) * 10 ** (-40 / 20))  # -40 dBFS RMS
    assert frame_levels(quiet)[0] == pytest.approx(-60.0, abs=1e-6)
    assert is_silent(quiet)
    assert not is_silent(loud)


def test_peak() -> None:
    assert peak_dbfs(tone(0.02, 0.5)) == pytest.approx(-6.0206, abs=1e-4)


def test_tone_burst_edges_within_one_frame() -> None:
    signal = burst(0.105, 0.333)
    segments = speech_segments(signal, RATE)
    assert segments == [(0.1, 0.34)]
    start, end = segments[0]
    assert start <= 0.105 < start + 0.02
    assert end - 0.02 < 0.333 <= end
    assert speech_end_s(signal, RATE) == 0.34
    assert active_duration_s(signal, RATE) == pytest.approx(0.24)  # frames 5..16
    assert peak_dbfs(signal) == pytest.approx(-6.0206, abs=1e-3)
    assert not is_silent(signal)


def test_hangover_merges_short_pauses() -> None:
    signal = burst(0.1, 0.3) + burst(0.5, 0.7)  # a 200 ms pause
    assert speech_segments(signal, RATE, min_silence_ms=300) == [(0.1, 0.7)]
    assert speech_segments(signal, RATE, min_silence_ms=220) == [(0.1, 0.7)]
    assert speech_segments(signal, RATE, min_silence_ms=200) == [(0.1, 0.3), (0.5, 0.7)]
    assert active_duration_s(signal, RATE) == pytest.approx(0.4)


def test_trailing_partial_frame() -> None:
    signal = tone(1000 / RATE, 0.5)
    assert len(frame_levels(signal)) == 2
    assert speech_segments(signal) == [(0.0, 1000 / RATE)]
    assert active_duration_s(signal) == 1000 / RATE


def test_wav_path(tmp_path: Path) -> None:
    loud, quiet = tmp_path / "loud.wav", tmp_path / "quiet.wav"
    soundfile.write(loud, burst(0.105, 0.333), RATE, subtype="PCM_16")
    soundfile.write(quiet, np.zeros(RATE), RATE, subtype="PCM_16")
    assert not is_silent(loud)
    assert is_silent(str(quiet))
    assert active_duration_s(loud) == pytest.approx(0.24)
    assert peak_dbfs(loud) == pytest.approx(-6.02, abs=0.01)


def test_unsupported_sample_type() -> None:
    with pytest.raises(TypeError):
        frame_dbfs(np.zeros(10, dtype=np.int64))
