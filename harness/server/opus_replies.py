"""Load mode's reply audio: each distinct reply rendered and Opus-encoded once, then sent as packets.

Why: in normal mode aiortc encodes every 20 ms frame of every call on its executor (Opus, plus an
RFC 6465 audio level computed in pure Python): the stand-in's top cost per live call. A load test
repeats a handful of replies, so load mode renders each (text, flite voice, speed) once, encodes
it with aiortc's own Opus encoder (the bitstream normal mode would send) and replays the packets
(:class:`~harness.server.audio_out.PacketAudioTrack`). The cache is bounded (least recently used
goes first), and calls asking for the same new reply at once share one synthesis.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np
from aiortc.codecs.opus import OpusEncoder

from harness.protocol import FRAME_SAMPLES, SAMPLE_RATE
from harness.server.tts import Speech, SpeechCache, SpeechKey, Synthesizer, speech_key

_TIME_BASE = Fraction(1, SAMPLE_RATE)


@dataclass(frozen=True)
class EncodedSpeech:
    """A reply as Opus packets (one per 20 ms frame) and where each word starts (sample offsets)."""

    text: str
    packets: tuple[bytes, ...]
    words: tuple[tuple[str, int], ...]

    @property
    def length(self) -> int:
        """Samples at 48 kHz: what plays, what generate-ahead pacing and truncation count."""
        return len(self.packets) * FRAME_SAMPLES


def _frame(samples: np.ndarray, pts: int) -> av.AudioFrame:
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = SAMPLE_RATE
    frame.time_base = _TIME_BASE
    frame.pts = pts
    return frame


def _encode_frames(samples: np.ndarray) -> list[bytes]:
    encoder = OpusEncoder()
    packets: list[bytes] = []
    for start in range(0, len(samples), FRAME_SAMPLES):
        payloads, _ = encoder.encode(_frame(samples[start : start + FRAME_SAMPLES], start))
        packets.extend(payloads)
    return packets


@functools.cache
def silence_packet() -> bytes:
    """The Opus packet of 20 ms of digital silence (what the track sends between replies)."""
    return _encode_frames(np.zeros(8 * FRAME_SAMPLES, dtype=np.int16))[-1]


def encode_opus(samples: np.ndarray) -> tuple[bytes, ...]:
    """int16 mono 48 kHz -> one Opus packet per 960 samples (the last frame zero-padded), so the
    reply lasts as many frames as the PCM track would send for it."""
    frames = -(-len(samples) // FRAME_SAMPLES)
    padded = np.zeros(frames * FRAME_SAMPLES, dtype=np.int16)
    padded[: len(samples)] = samples
    packets = _encode_frames(padded)[:frames]
    packets += [silence_packet()] * (frames - len(packets))  # aiortc's encoder gives 1 per frame
    return tuple(packets)


def encode_speech(speech: Speech) -> EncodedSpeech:
    return EncodedSpeech(text=speech.text, packets=encode_opus(speech.samples), words=speech.words)


class EncodedVoice:
    """Reply text -> :class:`EncodedSpeech`: flite and Opus once per distinct reply, then the cache."""

    def __init__(self, synthesizer: Synthesizer, cache_size: int) -> None:
        self._synthesizer = synthesizer
        self._cache: SpeechCache[EncodedSpeech] = SpeechCache(cache_size)
        self._pending: dict[SpeechKey, asyncio.Task[EncodedSpeech]] = {}
        self.renders = 0  # distinct replies synthesised and encoded (tests, benchmarks)

    async def synthesize(self, text: str, voice: str, speed: float = 1.0) -> EncodedSpeech:
        key = speech_key(text, voice, speed)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        task = self._pending.get(key)
        if task is None:
            task = asyncio.create_task(self._render(key, text, voice, speed), name="standin-encode-reply")
            self._pending[key] = task
            task.add_done_callback(lambda _: self._pending.pop(key, None))
        # One caller giving up (a cancelled response) must not cancel the others' shared render.
        return await asyncio.shield(task)

    async def _render(self, key: SpeechKey, text: str, voice: str, speed: float) -> EncodedSpeech:
        speech = await self._synthesizer.render(text, voice, speed)
        encoded = await asyncio.to_thread(encode_speech, speech)
        self.renders += 1
        self._cache.put(key, encoded)
        return encoded

    async def close(self) -> None:
        """Cancel renders nobody waits for any more (the server is stopping)."""
        tasks = list(self._pending.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
