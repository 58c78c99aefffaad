"""Capture of the received audio track: WAV segments and output-audio onset/offset milestones.

The track is consumed continuously from the moment it arrives (an unconsumed aiortc track piles
up decoded frames). Each frame is downmixed to mono s16 48 kHz, written to the open segment, if
any, and run through a level detector:

* onset: the first frame whose RMS is at least :data:`ONSET_THRESHOLD_DBFS` (-50 dBFS) after
  silence -> ``Milestone.OUTPUT_AUDIO_ONSET``;
* offset: once :data:`OFFSET_HANGOVER_FRAMES` (25 frames = 500 ms, server_vad's default
  ``silence_duration_ms``, so pauses between words and sentences do not split a reply) follow
  below the threshold -> ``Milestone.OUTPUT_AUDIO_OFFSET`` stamped at the last loud frame.

Both milestones are stamped with the *arrival* time of the frame's RTP packet (see
:mod:`harness.client.arrival`), falling back to the decoded frame's delivery time when unknown;
``data`` holds the frame's dBFS, which clock was used and the delivery time for comparison.
Because of that back-dating (and the hangover) these entries are appended after entries with a
later ``t``: read the timeline by ``t``, not by position. They carry the turn that was current
when the deciding frame was handled, even when recorded after the next turn started.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
import soundfile
from aiortc.mediastreams import MediaStreamError

from harness.client.arrival import PacketArrivals, install_arrival_hook
from harness.client.arrival_jitter import ArrivalJitter
from harness.client.audio_source import Pcm
from harness.client.datagram_arrival import DatagramArrivals
from harness.client.levels import FLOOR_DBFS, peak_dbfs, rms_dbfs
from harness.client.rtp_sequence import SequenceCounts
from harness.protocol import SAMPLE_RATE, Milestone
from harness.timeline import Timeline

ONSET_THRESHOLD_DBFS = -50.0
OFFSET_HANGOVER_FRAMES = 25


@dataclass(frozen=True, slots=True)
class CapturedAudio:
    """One finished capture segment (48 kHz mono s16 WAV)."""

    path: Path
    duration_s: float
    peak_dbfs: float  # highest absolute sample, -120 for digital silence
    non_silent: bool  # some frame reached the onset threshold


@dataclass(frozen=True, slots=True)
class LevelChange:
    milestone: Milestone
    t: float  # timeline time of the frame that decides it (onset: first loud, offset: last loud)
    dbfs: float
    delivery_t: float
    clock: str  # "arrival" or "delivery"
    turn: int | None = None  # timeline turn when that frame was handled


class LevelDetector:
    """Onset/offset state machine over per-frame dBFS, with a hangover of quiet frames.

    Called for every received frame (or packet), so a loud frame only updates a few fields: the
    :class:`LevelChange` is built when an onset or offset is actually reported."""

    def __init__(
        self, threshold_dbfs: float = ONSET_THRESHOLD_DBFS, hangover_frames: int = OFFSET_HANGOVER_FRAMES
    ) -> None:
        self.threshold_dbfs = threshold_dbfs
        self.hangover_frames = hangover_frames
        self.active = False
        self._quiet = 0
        # the last loud frame: t, dbfs, delivery_t, clock, turn (what its offset would say)
        self._loud_t = 0.0
        self._loud_dbfs = 0.0
        self._loud_delivery_t = 0.0
        self._loud_clock = ""
        self._loud_turn: int | None = None

    def feed(
        self, dbfs: float, t: float, *, delivery_t: float, clock: str, turn: int | None = None
    ) -> LevelChange | None:
        """Feed one frame; returns the onset or offset it completes, if any."""
        if dbfs >= self.threshold_dbfs:
            return self.loud(dbfs, t, delivery_t=delivery_t, clock=clock, turn=turn)
        return self.quiet()

    def loud(
        self, dbfs: float, t: float, *, delivery_t: float, clock: str, turn: int | None = None
    ) -> LevelChange | None:
        """Feed a frame already known to be at or above the threshold; returns its onset, if any."""
        self._quiet = 0
        self._loud_t, self._loud_dbfs, self._loud_delivery_t = t, dbfs, delivery_t
        self._loud_clock, self._loud_turn = clock, turn
        if not self.active:
            self.active = True
            return LevelChange(Milestone.OUTPUT_AUDIO_ONSET, t, dbfs, delivery_t, clock, turn)
        return None

    def quiet(self) -> LevelChange | None:
        """Feed a frame below the threshold; returns the offset it completes, if any."""
        if self.active:
            self._quiet += 1
            if self._quiet >= self.hangover_frames:
                return self.flush()
        return None

    def flush(self) -> LevelChange | None:
        """End an active stretch now (stream ended): its offset, else None."""
        if not self.active:
            return None
        self.active = False
        self._quiet = 0
        return LevelChange(
            Milestone.OUTPUT_AUDIO_OFFSET,
            self._loud_t,
            self._loud_dbfs,
            self._loud_delivery_t,
            self._loud_clock,
            self._loud_turn,
        )


def mark_level_change(timeline: Timeline, change: LevelChange, data: dict[str, Any]) -> None:
    """Record a level change under the turn of the frame that decided it: an offset is only
    known a hangover later, often after the runner has moved to the next turn. (Timeline.record
    takes the turn from ``timeline.turn``, so it is swapped for this one synchronous call.)"""
    current, timeline.turn = timeline.turn, change.turn
    try:
        timeline.mark(change.milestone, data, t=change.t)
    finally:
        timeline.turn = current


class _Segment:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.file = soundfile.SoundFile(
            str(path), mode="w", samplerate=SAMPLE_RATE, channels=1, subtype="PCM_16", format="WAV"
        )
        self.samples = 0
        self.peak = 0
        self.non_silent = False


class AudioCapture:
    """Consumes the remote audio track; writes segments; marks output onsets/offsets."""

    def __init__(
        self,
        timeline: Timeline,
        *,
        threshold_dbfs: float = ONSET_THRESHOLD_DBFS,
        hangover_frames: int = OFFSET_HANGOVER_FRAMES,
    ) -> None:
        self.timeline = timeline
        self.detector = LevelDetector(threshold_dbfs, hangover_frames)
        self.arrivals = PacketArrivals()
        self.jitter = ArrivalJitter()  # of the received packets, from their arrival instants
        self.sequence = SequenceCounts()  # loss and reordering, by sequence number
        self.frames = 0
        self.frames_with_arrival = 0
        self.last_delivery_lag_s: float | None = None  # delivery minus packet arrival, last frame
        self._segment: _Segment | None = None
        self._task: asyncio.Task[None] | None = None
        self._resampler: Any = None

    # ---- wiring --------------------------------------------------------------------------

    def hook_receiver(self, receiver: Any, datagrams: DatagramArrivals | None = None) -> None:
        """Stamp packet arrivals of this RTCRtpReceiver (call before media flows)."""
        install_arrival_hook(receiver, self.arrivals, datagrams, also=self._count_packet)

    def _count_packet(self, packet: Any, arrival: float) -> None:
        self.jitter.add(packet, arrival)
        self.sequence.add(packet.sequence_number)

    def start(self, track: Any) -> None:
        """Start the recv loop on the remote audio track (idempotent per capture)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(track), name="rth-audio-capture")

    async def _run(self, track: Any) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                break
            self.process(frame, time.monotonic())
        self._finish_level()

    async def stop(self) -> None:
        """Stop the recv loop, close an open segment's file and flush a pending offset."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._finish_level()
        if self._segment is not None:
            self._segment.file.close()
            self._segment = None

    # ---- per frame -----------------------------------------------------------------------

    def process(self, frame: Any, delivered_at: float) -> None:
        """Handle one decoded frame delivered at monotonic time ``delivered_at``."""
        mono = self._to_mono(frame)
        if mono.size == 0:
            return
        self.frames += 1
        arrival = self.arrivals.lookup(frame.pts)
        if arrival is not None:
            self.frames_with_arrival += 1
            self.last_delivery_lag_s = delivered_at - arrival
        dbfs = rms_dbfs(mono)
        delivery_t = self.timeline.at(delivered_at)
        t, clock = (delivery_t, "delivery") if arrival is None else (self.timeline.at(arrival), "arrival")
        segment = self._segment
        if segment is not None:
            segment.file.write(mono)
            segment.samples += mono.size
            segment.peak = max(segment.peak, int(np.abs(mono.astype(np.int32)).max()))
            segment.non_silent |= dbfs >= self.detector.threshold_dbfs
        change = self.detector.feed(dbfs, t, delivery_t=delivery_t, clock=clock, turn=self.timeline.turn)
        if change is not None:
            self._mark(change)

    def _to_mono(self, frame: Any) -> Pcm:
        """s16 mono 48 kHz samples: numpy downmix for aiortc's s16 48 kHz output, else swresample."""
        if frame.format.name == "s16" and frame.sample_rate == SAMPLE_RATE:
            channels = len(frame.layout.channels)
            data: Pcm = frame.to_ndarray().reshape(-1, channels)
            if channels == 1:
                return data[:, 0].copy()
            mixed: Pcm = np.round(data.astype(np.int32).sum(axis=1) / channels).astype(np.int16)
            return mixed
        if self._resampler is None:
            self._resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        chunks = [chunk.to_ndarray().reshape(-1) for chunk in self._resampler.resample(frame)]
        mono: Pcm = np.concatenate(chunks).astype(np.int16) if chunks else np.zeros(0, dtype=np.int16)
        return mono

    def _mark(self, change: LevelChange) -> None:
        mark_level_change(
            self.timeline,
            change,
            {"dbfs": round(change.dbfs, 1), "clock": change.clock, "delivery_t": round(change.delivery_t, 6)},
        )

    def _finish_level(self) -> None:
        change = self.detector.flush()
        if change is not None:
            self._mark(change)

    # ---- segments ------------------------------------------------------------------------

    @property
    def recording(self) -> bool:
        return self._segment is not None

    def begin_segment(self, path: Path) -> None:
        """Write every frame delivered from now on to ``path`` (48 kHz mono s16 WAV)."""
        if self._segment is not None:
            raise RuntimeError(
                f"capture segment {self._segment.path} is still open: call end_segment() first"
            )
        self._segment = _Segment(Path(path))

    def end_segment(self) -> CapturedAudio:
        """Close the open segment and describe it."""
        segment = self._segment
        if segment is None:
            raise RuntimeError("no capture segment is open: call begin_segment() first")
        self._segment = None
        segment.file.close()
        return CapturedAudio(
            path=segment.path,
            duration_s=segment.samples / SAMPLE_RATE,
            peak_dbfs=peak_dbfs(segment.peak) if segment.samples else FLOOR_DBFS,
            non_silent=segment.non_silent,
        )
