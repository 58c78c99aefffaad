"""Offline re-transcription of captured assistant audio (pocketsphinx, en-us model in the wheel).

Used for output consistency: what the assistant *said* against what its transcript claims, which
catches audio and transcript drifting apart (truncation, a wrong voice track, silence with text).
It is the same recogniser family as the stand-in's ASR, but independent of ``harness.server``.

Audio is cut to its voiced span (energy VAD, 200 ms margin) to save decoding time, then resampled
to 16 kHz mono int16 with FFmpeg's swresample (``av``), which is what the acoustic model expects.
Decoding holds the GIL (~0.1 s per second of speech on one core); one warm Decoder per process.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

from harness.metrics.audio import AudioSource, load, speech_segments

RECOGNISER_RATE = 16_000
MARGIN_S = 0.2
_lock = threading.Lock()  # a Decoder is not thread-safe


@cache
def _decoder() -> Any:
    from pocketsphinx import Decoder

    return Decoder(samprate=RECOGNISER_RATE, loglevel="FATAL")


def warm_up() -> None:
    """Load the acoustic model now (about a second), not at the first reply scored."""
    with _lock:
        _decoder()


def to_recogniser_pcm(samples: npt.NDArray[np.float64], rate: int) -> npt.NDArray[np.int16]:
    """``(n, channels)`` float samples -> 16 kHz mono int16 (channels averaged)."""
    import av

    mono = np.ascontiguousarray(samples.mean(axis=1), dtype=np.float32)
    if mono.size == 0:
        return np.zeros(0, dtype=np.int16)
    if rate != RECOGNISER_RATE:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=RECOGNISER_RATE)
        frame = av.AudioFrame.from_ndarray(mono.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = rate
        chunks = [*resampler.resample(frame), *resampler.resample(None)]
        mono = np.concatenate([c.to_ndarray().reshape(-1) for c in chunks]) if chunks else mono[:0]
    pcm: npt.NDArray[np.int16] = np.clip(np.round(mono * 32768.0), -32768, 32767).astype(np.int16)
    return pcm


def voiced_span(samples: npt.NDArray[np.float64], rate: int) -> npt.NDArray[np.float64]:
    """The samples from the first speech start to the last speech end, with a margin; empty if silent."""
    segments = speech_segments(samples, rate)
    if not segments:
        return samples[:0]
    first = max(0, int((segments[0][0] - MARGIN_S) * rate))
    last = min(samples.shape[0], int((segments[-1][1] + MARGIN_S) * rate))
    return samples[first:last]


def recognise(source: AudioSource, rate: int = 48_000) -> str:
    """Lower-case words heard in a WAV file or array (``rate`` for arrays); "" for silence."""
    samples, file_rate = load(source, rate)
    pcm = to_recogniser_pcm(voiced_span(samples, file_rate), file_rate)
    if pcm.size == 0:
        return ""
    with _lock:
        decoder = _decoder()
        decoder.start_utt()
        decoder.process_raw(pcm.tobytes(), full_utt=True)
        decoder.end_utt()
        hypothesis = decoder.hyp()
    return "" if hypothesis is None else str(hypothesis.hypstr).strip()
