"""The outgoing audio track: 20 ms frames paced on a monotonic clock, silence unless speech is queued.

aiortc's sender pulls frames as fast as ``recv()`` returns, so the track paces itself (sleep until
``start + pts / 48000``). What a frame contains is decided at its send time, so flushing the queue
silences the output within one frame. Each queued utterance is a :class:`PlaybackSegment` whose
futures resolve as its samples actually go out: the conversation engine hangs
``output_audio_buffer.started``, transcript deltas and ``.stopped`` on them.

Two tracks share that clock and queue (:class:`ReplyTrack`): :class:`OutgoingAudioTrack` hands
aiortc PCM frames to encode (normal mode); :class:`PacketAudioTrack` hands it the Opus packets of
an already encoded reply (load mode, :mod:`harness.server.opus_replies`), which aiortc sends
as they are, without its encoder.
"""

from __future__ import annotations

import asyncio
import time
from abc import abstractmethod
from collections import deque
from fractions import Fraction
from typing import Any

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from harness.protocol import FRAME_SAMPLES, SAMPLE_RATE
from harness.server.opus_replies import EncodedSpeech, silence_packet
from harness.server.send_clock import RtpSendClock
from harness.server.tts import Speech

_TIME_BASE = Fraction(1, SAMPLE_RATE)
Utterance = Speech | EncodedSpeech


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class PlaybackSegment:
    """One utterance on the track (``length`` samples at 48 kHz), with futures tied to its playback."""

    def __init__(self, utterance: Utterance, tag: str) -> None:
        loop = asyncio.get_running_loop()
        self.utterance = utterance
        self.length = len(utterance.samples) if isinstance(utterance, Speech) else utterance.length
        self.tag = tag
        self.position = 0
        self.cut = False
        self.started: asyncio.Future[None] = loop.create_future()
        self.started_at: float | None = None  # time.monotonic() when its first samples went to the sender
        self.sent: asyncio.Future[None] = loop.create_future()  # its first RTP packet left the socket
        self.sent_at: float | None = None  # when (see harness.server.send_clock)
        self.finished: asyncio.Future[None] = loop.create_future()
        self._marks: list[tuple[int, asyncio.Future[None]]] = []

    @property
    def played_ms(self) -> int:
        return self.position * 1000 // SAMPLE_RATE

    @property
    def duration_s(self) -> float:
        return self.length / SAMPLE_RATE

    def mark_sent(self, at: float) -> None:
        """The packet carrying this segment's first samples was handed to the kernel at ``at``."""
        if self.sent_at is None:
            self.sent_at = at
        _resolve(self.sent)

    def reached(self, offset: int) -> asyncio.Future[None]:
        """Resolves once the frame holding sample ``offset`` went out (or the segment ended)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.position > offset or self.finished.done():
            future.set_result(None)
        else:
            self._marks.append((offset, future))
        return future

    def _take(self, count: int) -> int:
        """Advance by up to ``count`` samples; returns where the taken span starts."""
        start = self.position
        self.position = min(self.length, start + count)
        if self.started_at is None and self.position > start:
            self.started_at = time.monotonic()
        _resolve(self.started)
        pending = []
        for offset, future in self._marks:
            if self.position > offset:
                _resolve(future)
            else:
                pending.append((offset, future))
        self._marks = pending
        return start

    @property
    def exhausted(self) -> bool:
        return self.position >= self.length

    def _end(self, *, cut: bool) -> None:
        self.cut = self.cut or cut
        for _, future in self._marks:
            _resolve(future)
        self._marks = []
        _resolve(self.finished)


class ReplyTrack(MediaStreamTrack):
    """What the stand-in speaks: a queue of segments on a 20 ms clock whose pts is never reset."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._queue: deque[PlaybackSegment] = deque()
        self._start: float | None = None
        self._pts = 0
        self.send_clock = RtpSendClock()

    def play(self, utterance: Utterance, tag: str) -> PlaybackSegment:
        """Queue an utterance after what is already queued."""
        segment = PlaybackSegment(self._checked(utterance), tag)
        if self.readyState != "live" or segment.length == 0:
            segment._take(0)
            segment._end(cut=self.readyState != "live")
        else:
            self._queue.append(segment)
        return segment

    @abstractmethod
    def _checked(self, utterance: Utterance) -> Utterance:
        """The utterance, if this track can send its form of audio (else TypeError)."""

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
            segment.length = min(segment.length, samples)
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

    async def _next_pts(self) -> int:
        """Wait until the next frame is due; its pts (running sample count)."""
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            wait = self._start + self._pts / SAMPLE_RATE - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        pts = self._pts
        self._pts += FRAME_SAMPLES
        return pts

    def _take(self, segment: PlaybackSegment, count: int, pts: int) -> int:
        """``segment._take`` for the frame at ``pts``; a segment starting here awaits its packet."""
        start = segment._take(count)
        if start == 0 and segment.position > 0:
            self.send_clock.expect(pts, segment)
        return start

    def _finish_head(self, segment: PlaybackSegment) -> None:
        if segment.exhausted:
            self._queue.popleft()
            segment._end(cut=False)


class OutgoingAudioTrack(ReplyTrack):
    """Normal mode: s16 mono 48 kHz frames of 960 samples, encoded by aiortc."""

    def _checked(self, utterance: Utterance) -> Utterance:
        if not isinstance(utterance, Speech):
            raise TypeError("OutgoingAudioTrack plays PCM speech")
        return utterance

    async def recv(self) -> av.AudioFrame:
        pts = await self._next_pts()
        samples = self._next_samples(pts)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.time_base = _TIME_BASE
        frame.pts = pts
        return frame

    def _next_samples(self, pts: int) -> np.ndarray:
        out = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        filled = 0
        while filled < FRAME_SAMPLES and self._queue:
            segment = self._queue[0]
            start = self._take(segment, FRAME_SAMPLES - filled, pts)
            assert isinstance(segment.utterance, Speech)
            chunk = segment.utterance.samples[start : segment.position]
            out[filled : filled + len(chunk)] = chunk
            filled += len(chunk)
            self._finish_head(segment)
        return out


class PacketAudioTrack(ReplyTrack):
    """Load mode: one pre-encoded Opus packet per frame (``av.Packet``, pts = running sample
    count, time base 1/48000), which aiortc's sender packs without encoding. A segment never
    shares a frame with the next one (packets are whole frames), and the silence between
    replies is one encoded silent packet, sent again and again."""

    def _checked(self, utterance: Utterance) -> Utterance:
        if not isinstance(utterance, EncodedSpeech):
            raise TypeError("PacketAudioTrack plays encoded speech")
        return utterance

    async def recv(self) -> av.Packet[Any]:  # aiortc packs a Packet as it is
        pts = await self._next_pts()
        packet = av.Packet(self._next_payload(pts))
        packet.pts = pts
        packet.time_base = _TIME_BASE
        return packet

    def _next_payload(self, pts: int) -> bytes:
        if not self._queue:
            return silence_packet()
        segment = self._queue[0]
        start = self._take(segment, FRAME_SAMPLES, pts)
        assert isinstance(segment.utterance, EncodedSpeech)
        payload = segment.utterance.packets[start // FRAME_SAMPLES]
        self._finish_head(segment)
        return payload
