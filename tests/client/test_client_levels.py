"""Level arithmetic: dBFS of known signals, and the numpy audio level equals aiortc's original.

That it is also faster is a timing claim: bench/audio_level.py measures it (goal: faster)."""

from __future__ import annotations

import math

import aiortc.rtp
import av
import numpy as np
import pytest

from harness.client import levels


def _original_audio_level() -> object:
    original = levels._original or aiortc.rtp.compute_audio_level_dbov
    assert original is not levels.audio_level_dbov
    return original


def _frame(samples: np.ndarray, layout: str) -> av.AudioFrame:
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout=layout)
    frame.sample_rate = 48000
    return frame


@pytest.mark.parametrize("layout", ["mono", "stereo"])
@pytest.mark.parametrize("amplitude", [0, 1, 30, 1000, 12000, 32767])
def test_numpy_audio_level_matches_aiortc(layout: str, amplitude: int) -> None:
    rng = np.random.default_rng(amplitude)
    channels = 2 if layout == "stereo" else 1
    samples = rng.integers(-amplitude, amplitude + 1, size=960 * channels, dtype=np.int16)
    frame = _frame(samples, layout)
    original = _original_audio_level()
    assert levels.audio_level_dbov(frame) == original(frame)  # type: ignore[operator]


def test_install_fast_audio_level_is_idempotent() -> None:
    levels.install_fast_audio_level()
    levels.install_fast_audio_level()
    assert aiortc.rtp.compute_audio_level_dbov is levels.audio_level_dbov
    assert levels._original is not None and levels._original is not levels.audio_level_dbov


def test_rms_dbfs_of_known_signals() -> None:
    t = np.arange(48000) / 48000
    sine = np.round(0.1 * 32768 * np.sin(2 * math.pi * 440 * t)).astype(np.int16)  # -20 dBFS peak
    assert levels.rms_dbfs(sine) == pytest.approx(-20 - 3.01, abs=0.05)
    assert levels.rms_dbfs(np.zeros(960, dtype=np.int16)) == levels.FLOOR_DBFS
    assert levels.rms_dbfs(np.zeros(0, dtype=np.int16)) == levels.FLOOR_DBFS
    assert levels.peak_dbfs(32768 // 10) == pytest.approx(-20, abs=0.01)
    assert levels.peak_dbfs(0) == levels.FLOOR_DBFS
