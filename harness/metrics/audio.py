"""Audio levels and an energy VAD on 20 ms frames.

Used to find where user speech ends in the audio actually sent (the start of voice-to-voice latency)
and to check that captured assistant audio is not silent.

Level reference: RMS relative to full scale, with a **full-scale square wave = 0 dBFS** (no +3 dB
AES17 sine correction). A full-scale sine therefore reads -3.01 dBFS, and a sine of peak ``A``
reads ``20*log10(A/sqrt(2))``. This matches ``sox stat``/ffmpeg ``astats`` RMS levels.

Samples are int16 (scaled by 1/32768), int32 (by 1/2**31) or float in [-1, 1]; shape ``(n,)`` or
``(n, channels)``, where the channels of a frame are pooled (mean power over all their samples).
"""

from __future__ import annotations

import math
from os import PathLike
from typing import Any

import numpy as np
import numpy.typing as npt

from harness.protocol import FRAME_DURATION_S, SAMPLE_RATE
from harness.protocol.audio import FLOOR_DBFS

SILENCE_DBFS = -50.0
"""A frame at or below this RMS level counts as silence. Speech sits around -30..-10 dBFS; Opus
comfort noise and dither of a silent WebRTC track stay below -60 dBFS, so -50 leaves 10 dB margin both
ways."""

DBFS_FLOOR = FLOOR_DBFS
"""Level reported for digital silence (instead of -inf, so figures stay JSON-serialisable); below the
quietest non-zero int16 frame of 20 ms at 48 kHz (one LSB in one sample, about -120.1 dBFS)."""

FRAME_MS = round(FRAME_DURATION_S * 1000)
"""VAD frame length: the WebRTC/Opus packet duration, so a frame here is a packet on the wire."""

DEFAULT_RATE = SAMPLE_RATE
"""Rate assumed for bare arrays: the WebRTC Opus clock."""

DEFAULT_MIN_SILENCE_MS = 300
"""Hangover: pauses shorter than this stay inside one speech segment (gaps between words are shorter)."""

AudioSource = str | PathLike[str] | npt.ArrayLike


def to_float(samples: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Samples as float64 in [-1, 1], shape ``(n, channels)``."""
    array = np.asarray(samples)
    if array.dtype == np.int16:
        scaled = array.astype(np.float64) / 32768.0
    elif array.dtype == np.int32:
        scaled = array.astype(np.float64) / 2147483648.0
    elif np.issubdtype(array.dtype, np.floating):
        scaled = array.astype(np.float64)
    else:
        raise TypeError(f"unsupported sample type {array.dtype}: use int16, int32 or float")
    if scaled.ndim == 1:
        return scaled[:, np.newaxis]
    if scaled.ndim == 2:
        return scaled
    raise ValueError(f"samples must be (n,) or (n, channels), got shape {scaled.shape}")


def _db(power: float) -> float:
    """Power (mean square, full-scale square = 1) to dBFS, floored at :data:`DBFS_FLOOR`."""
    if power <= 0.0:
        return DBFS_FLOOR
    return max(10.0 * math.log10(power), DBFS_FLOOR)


def frame_dbfs(samples: npt.ArrayLike) -> float:
    """RMS level of one block of samples in dBFS (full-scale square = 0 dBFS)."""
    values = to_float(samples)
    if values.size == 0:
        return DBFS_FLOOR
    return _db(float(np.mean(np.square(values))))


def frame_levels(
    samples: npt.ArrayLike, rate: int = DEFAULT_RATE, frame_ms: int = FRAME_MS
) -> npt.NDArray[np.float64]:
    """RMS dBFS of each consecutive ``frame_ms`` frame; a trailing partial frame is measured as is."""
    values = to_float(samples)
    size = _frame_size(rate, frame_ms)
    total = values.shape[0]
    if total == 0:
        return np.empty(0, dtype=np.float64)
    power = np.mean(np.square(values), axis=1)
    starts = np.arange(0, total, size)
    mean_power = np.add.reduceat(power, starts) / np.minimum(size, total - starts)
    with np.errstate(divide="ignore"):
        levels = 10.0 * np.log10(mean_power)
    floored: npt.NDArray[np.float64] = np.maximum(levels, DBFS_FLOOR)
    return floored


def _frame_size(rate: int, frame_ms: int) -> int:
    size = rate * frame_ms // 1000
    if size <= 0:
        raise ValueError(f"frame of {frame_ms} ms at {rate} Hz holds no sample")
    return size


def speech_segments(
    samples: npt.ArrayLike,
    rate: int = DEFAULT_RATE,
    threshold_dbfs: float = SILENCE_DBFS,
    min_silence_ms: float = DEFAULT_MIN_SILENCE_MS,
) -> list[tuple[float, float]]:
    """Energy VAD: ``(start_s, end_s)`` of each run of frames above ``threshold_dbfs``.

    Runs separated by fewer than ``min_silence_ms`` of silent frames are merged (hangover). Resolution
    is one 20 ms frame: a start rounds down to its frame's start, an end up to its frame's end (or
    the end of the signal for the trailing partial frame).
    """
    values = to_float(samples)
    size = _frame_size(rate, FRAME_MS)
    active = frame_levels(values, rate) > threshold_dbfs
    max_gap_frames = math.ceil(min_silence_ms / FRAME_MS)
    runs: list[list[int]] = []  # [first active frame, last active frame]
    for index in np.flatnonzero(active).tolist():
        if runs and index - runs[-1][1] - 1 < max_gap_frames:
            runs[-1][1] = index
        else:
            runs.append([index, index])
    total = values.shape[0]
    return [(first * size / rate, min((last + 1) * size, total) / rate) for first, last in runs]


def speech_end_s(
    samples: npt.ArrayLike,
    rate: int = DEFAULT_RATE,
    threshold_dbfs: float = SILENCE_DBFS,
    min_silence_ms: float = DEFAULT_MIN_SILENCE_MS,
) -> float | None:
    """End of the last speech segment in seconds from the first sample, or None if all silent."""
    segments = speech_segments(samples, rate, threshold_dbfs, min_silence_ms)
    return segments[-1][1] if segments else None


def load(source: AudioSource, rate: int = DEFAULT_RATE) -> tuple[npt.NDArray[np.float64], int]:
    """Float samples ``(n, channels)`` and their rate, from a WAV path or an array at ``rate``."""
    if isinstance(source, str | PathLike):
        import soundfile

        data: Any
        data, file_rate = soundfile.read(source, dtype="float64", always_2d=True)
        return np.asarray(data, dtype=np.float64), int(file_rate)
    return to_float(source), rate


def peak_dbfs(source: AudioSource, rate: int = DEFAULT_RATE) -> float:
    """Sample peak in dBFS (a full-scale sample = 0 dBFS), floored at :data:`DBFS_FLOOR`."""
    values, _ = load(source, rate)
    if values.size == 0:
        return DBFS_FLOOR
    return _db(float(np.max(np.abs(values))) ** 2)


def active_duration_s(
    source: AudioSource, rate: int = DEFAULT_RATE, threshold_dbfs: float = SILENCE_DBFS
) -> float:
    """Total duration of frames above ``threshold_dbfs`` (no hangover), in seconds."""
    values, file_rate = load(source, rate)
    size = _frame_size(file_rate, FRAME_MS)
    levels = frame_levels(values, file_rate)
    total = 0
    for index in np.flatnonzero(levels > threshold_dbfs).tolist():
        total += min(size, values.shape[0] - index * size)
    return total / file_rate


def is_silent(source: AudioSource, rate: int = DEFAULT_RATE, threshold_dbfs: float = SILENCE_DBFS) -> bool:
    """True when no 20 ms frame rises above ``threshold_dbfs`` (an empty signal is silent)."""
    values, file_rate = load(source, rate)
    return not bool(np.any(frame_levels(values, file_rate) > threshold_dbfs))
