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

from harness.server.asr_cache import Fingerprint, PacketLog

ASR_RATE = 16_000
BYTES_PER_MS = ASR_RATE * 2 // 1000  # 16 kHz mono s16

logger = logging.getLogger(__name__)


class InputAudioBuffer:
    """The input audio buffer of the protocol: 16 kHz mono s16 since the last commit/clear.

    Bounded to ``max_seconds`` (oldest audio dropped) so a client that never commits cannot grow
    it without limit. ``received_ms`` is the audio clock of the whole call (VAD's
    ``audio_start_ms``/``audio_end_ms``); listeners get each chunk with the clock at its start.

    ``decode`` False (load mode, when no VAD or recognition needs the sound): frames are not
    decoded; :meth:`skip` counts them, so the clock, the buffer's duration and the committed
    turn's length stay right (the "unheard" audio is held as a length, before any decoded PCM).

    ``packets`` (load mode, set by the decode gate) logs the encoded packets behind the buffered
    audio, for the recognition cache's :meth:`fingerprint` (see :mod:`harness.server.asr_cache`).
    """

    def __init__(self, max_seconds: float) -> None:
        self._pcm = bytearray()
        self._max_ms = max_seconds * 1000
        self._max_bytes = int(self._max_ms) * BYTES_PER_MS
        self._unheard_ms = 0.0
        self.received_ms = 0.0
        self.decode = True
        self.listeners: list[Callable[[bytes, float], None]] = []
        self.packets: PacketLog | None = None

    @property
    def max_ms(self) -> float:
        return self._max_ms

    @property
    def duration_ms(self) -> float:
        return self._unheard_ms + len(self._pcm) / BYTES_PER_MS

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
            self._unheard_ms = 0.0
        elif self.duration_ms > self._max_ms:
            self._unheard_ms = max(0.0, self._max_ms - len(self._pcm) / BYTES_PER_MS)
        for listener in self.listeners:
            listener(pcm, at)

    def skip(self, ms: float) -> None:
        """``ms`` of audio arrived and was not decoded (nobody needs its sound)."""
        self.received_ms += ms
        self._unheard_ms = min(self._unheard_ms + ms, self._max_ms - len(self._pcm) / BYTES_PER_MS)

    def fingerprint(self, from_ms: float | None = None) -> Fingerprint | None:
        """What :meth:`take` with the same ``from_ms`` would commit, as packets (None without a
        packet log, or when the span has no cacheable speech)."""
        if self.packets is None:
            return None
        start = self.start_ms if from_ms is None else max(from_ms, self.start_ms)
        return self.packets.fingerprint(start)

    def take(self, from_ms: float | None = None) -> tuple[bytes, float]:
        """The buffered audio (from ``from_ms`` on the audio clock, if later than the buffer's
        start) and its length in ms: the committed turn. The buffer starts over."""
        if from_ms is not None and from_ms > self.start_ms:
            drop_ms = from_ms - self.start_ms
            unheard = min(self._unheard_ms, drop_ms)
            self._unheard_ms -= unheard
            skip = min(len(self._pcm), int((drop_ms - unheard) * BYTES_PER_MS) // 2 * 2)
            del self._pcm[:skip]
        taken = (bytes(self._pcm), self.duration_ms)
        self.clear()
        return taken

    def clear(self) -> None:
        self._pcm.clear()
        self._unheard_ms = 0.0
        if self.packets is not None:
            self.packets.clear()


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


async def drain(track: MediaStreamTrack) -> None:
    """Read a track to its end, keeping nothing (an unread aiortc track piles up frames)."""
    while True:
        try:
            await track.recv()
        except MediaStreamError:
            return
