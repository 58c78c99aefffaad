"""Speech synthesis with flite, resampled to the 48 kHz WebRTC clock, with word timings for deltas.

flite runs as a subprocess (``flite -voice slt -t TEXT -o file.wav``; ~40 ms for a sentence) so the
event loop never blocks. Its 16 kHz (8 kHz for ``kal``) output is resampled with
``av.AudioResampler``. Word start times are estimated by spreading the words over the voiced span
of the audio in proportion to their length: good enough to send transcript deltas in step with
playback. flite's leading pause is trimmed (the reply starts with sound). Results are cached by
(text, voice, speed): load tests repeat the same replies.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections import OrderedDict
from dataclasses import dataclass
from fractions import Fraction
from typing import Generic, TypeVar

import av
import numpy as np
import soundfile

from harness.errors import HarnessError
from harness.protocol import SAMPLE_RATE

# OpenAI voice -> flite voice. flite ships one female US voice (slt) and three male ones (rms US,
# awb Scottish, kal16 US diphone). The two recommended voices (marin, cedar: cedar is the default)
# and the female-sounding ones get slt, the clearest for ASR; the other male-sounding ones spread
# over rms, awb and kal16 so multi-voice tests hear different speakers.
VOICE_MAP: dict[str, str] = {
    "alloy": "slt",
    "ash": "rms",
    "ballad": "awb",
    "coral": "slt",
    "echo": "rms",
    "sage": "slt",
    "shimmer": "slt",
    "verse": "kal16",
    "marin": "slt",
    "cedar": "slt",
}
DEFAULT_FLITE_VOICE = "slt"
_SILENCE_THRESHOLD = 300  # int16 amplitude below which flite's leading/trailing pause counts as silent


class SynthesisError(HarnessError):
    """flite failed or is missing."""


@dataclass(frozen=True)
class Speech:
    """Synthesised audio (int16 mono 48 kHz) and where each word starts (sample offsets)."""

    text: str
    samples: np.ndarray
    words: tuple[tuple[str, int], ...]

    @property
    def duration_s(self) -> float:
        return len(self.samples) / SAMPLE_RATE


def flite_voice(voice: str) -> str:
    """The flite voice speaking for an OpenAI voice name (custom voices get the default)."""
    return VOICE_MAP.get(voice, DEFAULT_FLITE_VOICE)


def resample_to_48k(samples: np.ndarray, rate: int) -> np.ndarray:
    """int16 mono at ``rate`` -> int16 mono 48 kHz (libswresample via PyAV)."""
    if rate == SAMPLE_RATE or len(samples) == 0:
        return samples.astype(np.int16, copy=False)
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1).astype(np.int16), format="s16", layout="mono")
    frame.sample_rate = rate
    frame.pts = 0
    frame.time_base = Fraction(1, rate)
    resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    frames = [*resampler.resample(frame), *resampler.resample(None)]
    return np.concatenate([f.to_ndarray().reshape(-1) for f in frames]).astype(np.int16, copy=False)


def trim_leading_silence(samples: np.ndarray) -> np.ndarray:
    """Drop flite's ~0.2 s lead-in, so the first frame out is voiced and the first-audio time the
    server injects is the first audio a client can hear (5 ms of lead-in kept for the onset)."""
    voiced = np.flatnonzero(np.abs(samples.astype(np.int32)) > _SILENCE_THRESHOLD)
    if not len(voiced):
        return samples
    return samples[max(0, int(voiced[0]) - SAMPLE_RATE // 200) :]


def word_offsets(text: str, samples: np.ndarray) -> tuple[tuple[str, int], ...]:
    """Split ``text`` into delta chunks (``"You"``, ``" said:"``...) with estimated start samples."""
    words = text.split()
    if not words:
        return ()
    voiced = np.flatnonzero(np.abs(samples.astype(np.int32)) > _SILENCE_THRESHOLD)
    first, last = (int(voiced[0]), int(voiced[-1])) if len(voiced) else (0, len(samples))
    weights = np.array([len(w) + 1 for w in words], dtype=np.float64)
    starts = first + (np.cumsum(weights) - weights) / weights.sum() * max(last - first, 0)
    chunks = [w if i == 0 else " " + w for i, w in enumerate(words)]
    return tuple(zip(chunks, (int(s) for s in starts), strict=True))


SpeechKey = tuple[str, str, float]
V = TypeVar("V")


def speech_key(text: str, voice: str, speed: float) -> SpeechKey:
    """What makes two replies sound the same: the text, the flite voice and the speed."""
    return (text, flite_voice(voice), round(speed, 3))


class SpeechCache(Generic[V]):
    """Replies by :func:`speech_key`, bounded: the least recently used goes first."""

    def __init__(self, size: int) -> None:
        self._entries: OrderedDict[SpeechKey, V] = OrderedDict()
        self._size = max(1, size)

    def get(self, key: SpeechKey) -> V | None:
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def put(self, key: SpeechKey, value: V) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)


class Synthesizer:
    """Text -> :class:`Speech` with flite, cached."""

    def __init__(self, flite_path: str = "flite", cache_size: int = 64) -> None:
        self._flite = flite_path
        self._cache: SpeechCache[Speech] = SpeechCache(cache_size)

    async def synthesize(self, text: str, voice: str, speed: float = 1.0) -> Speech:
        key = speech_key(text, voice, speed)
        speech = self._cache.get(key)
        if speech is None:
            speech = await self.render(text, voice, speed)
            self._cache.put(key, speech)
        return speech

    async def render(self, text: str, voice: str, speed: float = 1.0) -> Speech:
        """Synthesise without the cache (a caller that keeps its own form of the audio)."""
        samples, rate = await self._run_flite(text, flite_voice(voice), speed)
        audio = trim_leading_silence(resample_to_48k(samples, rate))
        return Speech(text=text, samples=audio, words=word_offsets(text, audio))

    async def _run_flite(self, text: str, voice: str, speed: float) -> tuple[np.ndarray, int]:
        fd, path = tempfile.mkstemp(prefix="rth-tts-", suffix=".wav")
        os.close(fd)
        try:
            args = ["-voice", voice, "--setf", f"duration_stretch={1.0 / speed:.3f}", "-t", text, "-o", path]
            try:
                process = await asyncio.create_subprocess_exec(
                    self._flite,
                    *args,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.PIPE,
                )
            except FileNotFoundError:
                raise SynthesisError(
                    f"flite not found at {self._flite!r}: install it (apt-get install flite)"
                ) from None
            try:
                _, stderr = await process.communicate()
            except asyncio.CancelledError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
                raise
            if process.returncode != 0:
                detail = stderr.decode(errors="replace").strip()[:200]
                raise SynthesisError(f"flite exited with {process.returncode}: {detail}")
            data, rate = soundfile.read(path, dtype="int16", always_2d=True)
            return data[:, 0].copy(), int(rate)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
