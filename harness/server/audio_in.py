"""Incoming audio: consume the caller's track and keep what arrived since the last commit or clear.

The track must always be consumed (an unread aiortc track piles up frames). Decoded frames are s16
stereo 48 kHz; one ``av.AudioResampler`` per stream downmixes and resamples them to 16 kHz mono,
the rate pocketsphinx decodes and the server VAD listens at (:attr:`InputAudioBuffer.listeners`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

ASR_RATE = 16_000
BYTES_PER_MS = ASR_RATE * 2 // 1000  # 16 kHz mono s16

logger = logging.getLogger(__name__)


class InputAudioBuffer:
    """The input audio buffer of the protocol: 16 kHz mono s16 since the last commit/clear.

    Bounded to ``max_seconds`` (oldest audio dropped) so a client that never commits cannot grow
    it without limit. ``received_ms`` is the audio clock of the whole call (VAD's
    ``audio_start_ms``/``audio_end_ms``); listeners get each chunk with the clock at its start.
    """

    def __init__(self, max_seconds: float) -> None:
        self._pcm = bytearray()
        self._max_bytes = int(max_seconds * 1000) * BYTES_PER_MS
        self.received_ms = 0.0
        self.listeners: list[Callable[[bytes, float], None]] = []

    @property
    def duration_ms(self) -> float:
        return len(self._pcm) / BYTES_PER_MS

    @property
    def start_ms(self) -> float:
        """The audio clock at the first buffered sample."""
        return self.received_ms - self.duration_ms

    def append(self, pcm: bytes) -> None:
        at = self.received_ms
        self._pcm += pcm
        self.received_ms += len(pcm) / BYTES_PER_MS
        if len(self._pcm) > self._max_bytes:
            del self._pcm[: len(self._pcm) - self._max_bytes]
        for listener in self.listeners:
            listener(pcm, at)

    def take(self, from_ms: float | None = None) -> bytes:
        """The buffered audio (from ``from_ms`` on the audio clock, if later than the buffer's
        start): the committed turn. The buffer starts over."""
        skip = 0
        if from_ms is not None and from_ms > self.start_ms:
            skip = min(len(self._pcm), int((from_ms - self.start_ms) * BYTES_PER_MS) // 2 * 2)
        pcm = bytes(self._pcm[skip:])
        self._pcm.clear()
        return pcm

    def clear(self) -> None:
        self._pcm.clear()


async def consume_track(track: MediaStreamTrack, buffer: InputAudioBuffer) -> None:
    """Read the caller's track until it ends, feeding 16 kHz mono PCM into ``buffer``."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=ASR_RATE)
    frames = 0
    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            break
        if not isinstance(frame, av.AudioFrame):
            continue
        frames += 1
        for out in resampler.resample(frame):
            buffer.append(out.to_ndarray().tobytes())
    logger.debug("incoming audio track ended after %d frames", frames)
