"""The outgoing audio track: 20 ms frames paced on a monotonic clock, silence unless speech is queued.

aiortc's sender pulls frames as fast as ``recv()`` returns, so the track paces itself (sleep until
``start + pts / 48000``). What a frame contains is decided at its send time, so flushing the queue
silences the output within one frame. Each queued utterance is a :class:`PlaybackSegment` whose
futures resolve as its samples actually go out: the conversation engine hangs
``output_audio_buffer.started``, transcript deltas and ``.stopped`` on them.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from fractions import Fraction

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from harness.protocol import FRAME_SAMPLES, SAMPLE_RATE

_TIME_BASE = Fraction(1, SAMPLE_RATE)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class PlaybackSegment:
    """One utterance (int16 mono 48 kHz) on the track, with futures tied to its playback."""

    def __init__(self, samples: np.ndarray, tag: str) -> None:
        loop = asyncio.get_running_loop()
        self.samples = samples
        self.tag = tag
        self.position = 0
        self.cut = False
        self.started: asyncio.Future[None] = loop.create_future()
        self.started_at: float | None = None  # time.monotonic() when its first samples went to the sender
        self.finished: asyncio.Future[None] = loop.create_future()
        self._marks: list[tuple[int, asyncio.Future[None]]] = []

    @property
    def played_ms(self) -> int:
        return self.position * 1000 // SAMPLE_RATE

    @property
    def duration_s(self) -> float:
        return len(self.samples) / SAMPLE_RATE

    def reached(self, offset: int) -> asyncio.Future[None]:
        """Resolves once the frame holding sample ``offset`` went out (or the segment ended)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.position > offset or self.finished.done():
            future.set_result(None)
        else:
            self._marks.append((offset, future))
        return future

    def _take(self, count: int) -> np.ndarray:
        chunk = self.samples[self.position : self.position + count]
        self.position += len(chunk)
        if self.started_at is None and len(chunk):
            self.started_at = time.monotonic()
        _resolve(self.started)
        pending = []
        for offset, future in self._marks:
            if self.position > offset:
                _resolve(future)
            else:
                pending.append((offset, future))
        self._marks = pending
        return chunk

    @property
    def exhausted(self) -> bool:
        return self.position >= len(self.samples)

    def _end(self, *, cut: bool) -> None:
        self.cut = self.cut or cut
        for _, future in self._marks:
            _resolve(future)
        self._marks = []
        _resolve(self.finished)


class OutgoingAudioTrack(MediaStreamTrack):
    """Audio the stand-in speaks: s16 mono 48 kHz frames of 960 samples, pts never reset."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._queue: deque[PlaybackSegment] = deque()
        self._start: float | None = None
        self._pts = 0

    def play(self, samples: np.ndarray, tag: str) -> PlaybackSegment:
        """Queue int16 mono 48 kHz samples after what is already queued."""
        segment = PlaybackSegment(np.ascontiguousarray(samples, dtype=np.int16), tag)
        if self.readyState != "live" or len(segment.samples) == 0:
            segment._take(0)
            segment._end(cut=self.readyState != "live")
        else:
            self._queue.append(segment)
        return segment

    def flush(self) -> list[PlaybackSegment]:
        """Drop everything queued; the next frame is silence. Returns the segments cut short."""
        cut = list(self._queue)
        self._queue.clear()
        for segment in cut:
            segment._end(cut=True)
        return cut

    def limit(self, segment: PlaybackSegment, samples: int) -> None:
        """Keep only the first ``samples`` of a segment (a generation stopped early); the rest never plays."""
        if samples > segment.position:
            segment.samples = segment.samples[:samples]
            return
        if segment in self._queue:  # everything generated has played: a normal end
            self._queue.remove(segment)
        segment._end(cut=False)

    def cut(self, segment: PlaybackSegment) -> None:
        """Drop one segment's unplayed audio (silence from the next frame on)."""
        if segment in self._queue:
            self._queue.remove(segment)
        segment._end(cut=True)

    def stop(self) -> None:
        self.flush()
        super().stop()

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            wait = self._start + self._pts / SAMPLE_RATE - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        samples = self._next_samples()
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.time_base = _TIME_BASE
        frame.pts = self._pts
        self._pts += FRAME_SAMPLES
        return frame

    def _next_samples(self) -> np.ndarray:
        out = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        filled = 0
        while filled < FRAME_SAMPLES and self._queue:
            segment = self._queue[0]
            chunk = segment._take(FRAME_SAMPLES - filled)
            out[filled : filled + len(chunk)] = chunk
            filled += len(chunk)
            if segment.exhausted:
                self._queue.popleft()
                segment._end(cut=False)
        return out
