"""The stand-in's recogniser never turns silence into words (pocketsphinx alone hears "dog" in it)."""

from __future__ import annotations

import asyncio

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from harness.server.asr import FRAME_SAMPLES, SILENT_DBFS, Recognizer, silent


def _tone(frames: int, dbfs: float, loud_frame: int | None = None) -> bytes:
    """A sine at ``dbfs`` RMS; one frame at -20 dBFS if ``loud_frame`` is given."""
    t = np.arange(frames * FRAME_SAMPLES) / 16_000
    signal = np.sin(2 * np.pi * 440 * t) * np.sqrt(2) * 10 ** (dbfs / 20)
    if loud_frame is not None:
        span = slice(loud_frame * FRAME_SAMPLES, (loud_frame + 1) * FRAME_SAMPLES)
        signal[span] = np.sin(2 * np.pi * 440 * t[span]) * np.sqrt(2) * 0.1
    return np.round(signal * 32767).astype(np.int16).tobytes()


@given(st.integers(1, 200), st.floats(-120, SILENT_DBFS - 1), st.data())
def test_a_turn_is_silent_unless_some_frame_is_louder_than_the_floor(
    frames: int, dbfs: float, data: st.DataObject
) -> None:
    assert silent(_tone(frames, dbfs))
    loud = data.draw(st.integers(0, frames - 1))
    assert not silent(_tone(frames, dbfs, loud_frame=loud))


def test_silence_is_transcribed_as_nothing_without_decoding() -> None:
    recognizer = Recognizer(1)  # never started: a silent turn does not reach a worker
    assert asyncio.run(recognizer.transcribe(bytes(32_000))) == ""
    assert recognizer._all == set()
