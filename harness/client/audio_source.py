"""The input track: replays WAV files like a microphone, silence in between.

Two separate parts, so that a pre-encoded Opus producer can replace the PCM one for load runs:

* A producer decides *what* the next 20 ms frame holds (queued clip or silence):
  :class:`PcmFrameProducer` builds an ``av.AudioFrame`` (s16, mono, 48 kHz, 960 samples) that
  aiortc encodes; ``harness.client.opus_input.OpusPacketProducer`` hands over a pre-encoded Opus
  ``av.Packet`` that aiortc only packs. Both queue clips through :class:`ClipQueue`.
* :class:`PacedAudioTrack` decides *when*: aiortc's sender pulls frames as fast as ``recv()``
  returns, so the track sleeps until ``start + pts / 48000`` on the monotonic clock, like
  aiortc's own AudioStreamTrack. ``pts`` is a running sample count that never resets and is
  never None (either one silences or kills aiortc's sender).

A clip's first and last frames are reported through callbacks at the moment ``recv()`` hands
them to the sender, which is when the session marks INPUT_AUDIO_START / INPUT_AUDIO_END.
"""

from __future__ import annotations

import asyncio
import fractions
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import av
import numpy as np
import numpy.typing as npt
import soundfile
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from harness.errors import UsageError
from harness.protocol import FRAME_SAMPLES, SAMPLE_RATE

TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)
Pcm = npt.NDArray[np.int16]


def load_wav(path: Path, *, gain_db: float = 0.0) -> Pcm:
    """Any WAV (rate, width, channels) -> int16 mono 48 kHz, with ``gain_db`` applied and clipped.

    Channels are averaged; resampling is FFmpeg's swresample via ``av.AudioResampler`` (flushed,
    so the output holds exactly ``round(n * 48000 / rate)`` samples).
    """
    try:
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (OSError, RuntimeError, soundfile.LibsndfileError) as exc:
        raise UsageError(f"cannot read audio file {path}: {exc}; pass a readable WAV file") from exc
    mono: npt.NDArray[np.float32] = data.mean(axis=1, dtype=np.float32)
    if gain_db:
        mono = mono * np.float32(10.0 ** (gain_db / 20.0))
    if rate != SAMPLE_RATE and mono.size:
        mono = _resample(mono, int(rate))
    return np.clip(np.round(mono * 32768.0), -32768, 32767).astype(np.int16)


def _resample(mono: npt.NDArray[np.float32], rate: int) -> npt.NDArray[np.float32]:
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(mono).reshape(1, -1), format="flt", layout="mono")
    frame.sample_rate = rate
    chunks = [*resampler.resample(frame), *resampler.resample(None)]
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate([chunk.to_ndarray().reshape(-1) for chunk in chunks]).astype(np.float32)


def trim_samples(samples: Pcm, offset_ms: int = 0, duration_ms: int | None = None) -> Pcm:
    """A scenario clip's trim: skip ``offset_ms``, keep at most ``duration_ms`` (48 kHz samples)."""
    start = round(offset_ms * SAMPLE_RATE / 1000)
    stop = None if duration_ms is None else start + round(duration_ms * SAMPLE_RATE / 1000)
    return samples[start:stop]


def frame_count(samples: int) -> int:
    """Number of 20 ms frames a clip of ``samples`` occupies (the last one padded with silence)."""
    return math.ceil(samples / FRAME_SAMPLES)


@dataclass(eq=False)
class QueuedClip:
    """What a :class:`ClipQueue` plays: some 20 ms frames, a cursor, who to tell at start and end."""

    _: KW_ONLY
    on_start: Callable[[int], None] | None = None  # called with the pts of the first frame
    on_end: Callable[[int], None] | None = None  # called with the pts of the last frame
    position: int = 0  # frames already handed over
    # True once the last frame went out, False if dropped by clear(); cancelled if its caller was.
    done: asyncio.Future[bool] = field(default_factory=lambda: asyncio.get_running_loop().create_future())

    @property
    def frames(self) -> int:
        raise NotImplementedError


@dataclass(eq=False)
class Clip(QueuedClip):
    """One queued WAV as PCM samples (48 kHz mono int16)."""

    samples: Pcm
    label: str

    @property
    def frames(self) -> int:
        return frame_count(len(self.samples))


C = TypeVar("C", bound=QueuedClip)


class ClipQueue(Generic[C]):
    """Clips in FIFO order, frame by frame, firing their callbacks; shared by both producers
    (PCM and pre-encoded Opus) so queueing, cancelling and muting behave the same."""

    def __init__(self) -> None:
        self._queue: deque[C] = deque()

    def enqueue(self, clip: C) -> None:
        self._queue.append(clip)

    def cancel(self, clip: C) -> None:
        """Drop a clip whose caller gave up (playing or queued); its future is cancelled."""
        if clip in self._queue:
            self._queue.remove(clip)
        if not clip.done.done():
            clip.done.cancel()

    def clear(self, error: BaseException | None = None) -> None:
        """Drop every queued clip now, like muting the microphone: their futures resolve to False,
        or raise ``error`` (used when the session closes under a waiting ``play``)."""
        queued, self._queue = list(self._queue), deque()
        for clip in queued:
            if not clip.done.done():
                if error is None:
                    clip.done.set_result(False)
                else:
                    clip.done.set_exception(error)

    @property
    def busy(self) -> bool:
        return bool(self._queue)

    @property
    def queued_frames(self) -> int:
        """Frames still to hand over, every queued clip together."""
        return sum(max(0, clip.frames - clip.position) for clip in self._queue)

    def take(self, pts: int) -> C | None:
        """The clip playing the frame at ``pts`` (its frame index is ``position - 1`` afterwards),
        or None for silence; fires the clip's callbacks as its first and last frames are taken."""
        queue = self._queue
        while queue and queue[0].done.done():  # cancelled by its awaiting caller
            queue.popleft()
        if not queue:
            return None
        clip = queue[0]
        if clip.position == 0 and clip.on_start is not None:
            clip.on_start(pts)
        clip.position += 1
        if clip.position >= clip.frames:
            queue.popleft()
            if clip.on_end is not None:
                clip.on_end(pts)
            clip.done.set_result(True)
        return clip


class FrameProducer(Protocol):
    """What a :class:`PacedAudioTrack` asks for each 20 ms: an AudioFrame, or an av.Packet (Opus)."""

    def produce(self, pts: int) -> Any: ...


class PcmFrameProducer(ClipQueue[Clip]):
    """Queued clips, each sample-exact, zero-padded to a whole frame; else silence. aiortc
    encodes each frame (Opus, on its thread pool)."""

    def __init__(self) -> None:
        super().__init__()
        self._silence: Pcm = np.zeros(FRAME_SAMPLES, dtype=np.int16)

    def next_samples(self, pts: int) -> Pcm:
        """960 samples for the frame at ``pts``; fires clip callbacks as frames are taken."""
        clip = self.take(pts)
        if clip is None:
            return self._silence
        start = (clip.position - 1) * FRAME_SAMPLES
        chunk = clip.samples[start : start + FRAME_SAMPLES]
        if len(chunk) < FRAME_SAMPLES:
            chunk = np.concatenate([chunk, self._silence[: FRAME_SAMPLES - len(chunk)]])
        return chunk

    def produce(self, pts: int) -> av.AudioFrame:
        frame = av.AudioFrame.from_ndarray(self.next_samples(pts).reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        return frame


@dataclass
class PacingStats:
    """How late ``recv()`` handed frames over, versus the ideal ``start + pts/48000`` schedule.

    Lateness is also counted in 1 ms buckets (the last bucket holds everything later), so load
    runs can read percentiles without keeping a value per frame."""

    frames: int = 0
    late_frames: int = 0  # handed over more than 5 ms after their due time
    max_lateness_s: float = 0.0
    total_lateness_s: float = 0.0
    histogram_ms: list[int] = field(default_factory=lambda: [0] * PacingStats.BUCKETS)
    observe: Callable[[float], None] | None = None  # each frame's lateness (s), e.g. into a histogram

    LATE_S: ClassVar[float] = 0.005
    BUCKETS: ClassVar[int] = 1000

    def add(self, lateness_s: float) -> None:
        self.frames += 1
        lateness_s = max(0.0, lateness_s)
        if self.observe is not None:
            self.observe(lateness_s)
        self.total_lateness_s += lateness_s
        self.max_lateness_s = max(self.max_lateness_s, lateness_s)
        if lateness_s > self.LATE_S:
            self.late_frames += 1
        self.histogram_ms[min(int(lateness_s * 1000.0), self.BUCKETS - 1)] += 1

    @property
    def mean_lateness_s(self) -> float:
        return self.total_lateness_s / self.frames if self.frames else 0.0

    def percentile_s(self, q: float) -> float:
        """Upper bound (bucket top, 1 ms resolution) of the ``q``-th percentile lateness, 0..100."""
        if not self.frames:
            return 0.0
        rank = math.ceil(self.frames * q / 100.0)
        seen = 0
        for bucket, count in enumerate(self.histogram_ms):
            seen += count
            if seen >= rank:
                return (bucket + 1) / 1000.0
        return self.BUCKETS / 1000.0


class PacedAudioTrack(MediaStreamTrack):
    """An audio MediaStreamTrack emitting one producer frame every 20 ms of monotonic time.

    If the event loop stalls, frames are handed over late and then back to back until the
    schedule is met again (the same catch-up behaviour as aiortc's AudioStreamTrack), so the
    sent RTP timeline always matches wall time; :attr:`stats` records the lateness.
    """

    kind = "audio"

    def __init__(
        self,
        producer: FrameProducer,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__()
        self.producer = producer
        self.stats = PacingStats()
        self._clock = clock
        self._sleep = sleep
        self._start: float | None = None
        self._pts = 0

    @property
    def next_pts(self) -> int:
        return self._pts

    async def recv(self) -> Any:
        if self.readyState != "live":
            raise MediaStreamError
        pts = self._pts
        if self._start is None:
            self._start = self._clock()
        else:
            due = self._start + pts / SAMPLE_RATE
            wait = due - self._clock()
            if wait > 0:
                await self._sleep(wait)
            self.stats.add(self._clock() - due)
        self._pts = pts + FRAME_SAMPLES
        frame = self.producer.produce(pts)
        frame.pts = pts
        frame.time_base = TIME_BASE
        return frame
