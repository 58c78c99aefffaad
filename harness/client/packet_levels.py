"""Output-audio onsets at RTP packet arrival without decoding: the receive side of load runs.

A decoding session pays, per received packet, a jitter-buffer pass, a hand-off to the
receiver's decoder thread, an Opus decode, a hand-off back to the event loop and numpy work on
the frame. Load runs only need *when the reply's sound started and stopped*, so
:class:`PacketLevelCapture` takes the receiver over (``arrival.take_over_receiver``: no decoder
thread, no jitter buffer, the remote track never gets a frame) and decides, per packet:

1. with the RFC 6464 ``ssrc-audio-level`` header extension (aiortc senders, the stand-in
   included, put the level of every frame there, and negotiate it in the SDP): loud when
   ``-level >= ONSET_THRESHOLD_DBFS`` (the level is -dBov, rounded to whole dB, computed by the
   sender on the frame before encoding);
2. without it, :class:`OpusSizeGate`: digital silence encodes to a few bytes, anything audible
   to much more (measured: 3-byte silence vs 74+ bytes for -90 dBFS noise at aiortc's settings,
   35 vs 62+ for -50 dBFS at 32 kb/s mono SILK). It tells silence from sound, not -50 dBFS
   from -60: onsets of replies that start from digital silence are exact, offsets may be late
   when a sender fades out in low noise. Senders must not use DTX (we never offer ``usedtx``).

Each packet is one 20 ms frame (WebRTC's Opus ptime) for the :class:`LevelDetector`, whose
onset/offset are recorded as OUTPUT_AUDIO_ONSET / OFFSET with ``clock: "arrival"``, stamped at
the packet's arrival. Per packet this does a few attribute reads and comparisons: no numpy,
no allocation beyond what aiortc already made (times are converted only for loud packets).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from harness.client.arrival import take_over_receiver
from harness.client.arrival_jitter import ArrivalJitter
from harness.client.audio_sink import (
    OFFSET_HANGOVER_FRAMES,
    ONSET_THRESHOLD_DBFS,
    CapturedAudio,
    LevelChange,
    LevelDetector,
    mark_level_change,
)
from harness.client.datagram_arrival import DatagramArrivals
from harness.client.rtp_sequence import SequenceCounts
from harness.errors import HarnessError
from harness.timeline import Timeline

AUDIO_LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
LEVEL_RFC6464 = "rfc6464"
LEVEL_OPUS_SIZE = "opus-size"
_UNMEASURED = math.nan  # the dBFS a size-gated loud packet reports (not measured)


class OpusSizeGate:
    """Loud when a packet is clearly bigger than the smallest (digital silence) seen so far.

    The floor adapts to the sender's encoder settings; packets of one or two bytes (a bare TOC:
    DTX or a lost-frame marker) are quiet and do not lower it. Until a silent packet has been
    seen, the first packet sets the floor, so a stream that *starts* mid-speech misses that onset.
    """

    def __init__(self, *, margin_bytes: int = 8, margin_ratio: float = 0.5) -> None:
        self.margin_bytes = margin_bytes
        self.margin_ratio = margin_ratio
        self.floor: int | None = None
        self._loud_from = 0  # smallest loud size for the current floor

    def loud(self, size: int) -> bool:
        if size <= 2:
            return False
        floor = self.floor
        if floor is None or size < floor:
            self.floor = floor = size
            self._loud_from = floor + max(self.margin_bytes, math.ceil(floor * self.margin_ratio))
        return size >= self._loud_from


class PacketLevelMeter:
    """Per received packet: loud or quiet, fed to a :class:`LevelDetector`; marks its changes."""

    def __init__(
        self,
        timeline: Timeline,
        *,
        threshold_dbfs: float = ONSET_THRESHOLD_DBFS,
        hangover_frames: int = OFFSET_HANGOVER_FRAMES,
        use_audio_level: bool = True,
    ) -> None:
        self.timeline = timeline
        self.detector = LevelDetector(threshold_dbfs, hangover_frames)
        self.size_gate = OpusSizeGate()
        self.use_audio_level = use_audio_level  # False: size gate only (to test the fallback)
        self.packets = 0
        self.sequence = SequenceCounts()  # loss and reordering, by sequence number
        self.jitter = ArrivalJitter()  # from the packets' arrival instants, not the loop's clock
        self.packets_with_level = 0
        self.loud_packets = 0
        self._max_loud_level = math.floor(-threshold_dbfs)  # RFC 6464 level is -dBov, 0..127

    def on_packet(self, packet: Any, arrival: float) -> None:
        """An ``arrival.PacketObserver``: classify one RTP packet as it arrives."""
        self.sequence.add(packet.sequence_number)
        self.jitter.add(packet, arrival)
        payload = packet.payload
        if not payload:
            return
        self.packets += 1
        level = packet.extensions.audio_level if self.use_audio_level else None
        if level is not None:
            self.packets_with_level += 1
            loud = level[1] <= self._max_loud_level
        else:
            loud = self.size_gate.loud(len(payload))
        if not loud:
            change = self.detector.quiet()
        else:
            self.loud_packets += 1
            t = self.timeline.at(arrival)
            dbfs = float(-level[1]) if level is not None else _UNMEASURED
            change = self.detector.loud(dbfs, t, delivery_t=t, clock="arrival", turn=self.timeline.turn)
        if change is not None:
            self._mark(change)

    def finish(self) -> None:
        """The stream ended: record the offset of a reply still sounding."""
        change = self.detector.flush()
        if change is not None:
            self._mark(change)

    def _mark(self, change: LevelChange) -> None:
        data: dict[str, Any] = {"clock": change.clock}
        if math.isnan(change.dbfs):
            data["level"] = LEVEL_OPUS_SIZE
        else:
            data["level"] = LEVEL_RFC6464
            data["dbfs"] = change.dbfs
        mark_level_change(self.timeline, change, data)


class PacketLevelCapture:
    """The non-decoding twin of ``AudioCapture``: same wiring and ``detector``, no WAV segments."""

    def __init__(
        self,
        timeline: Timeline,
        *,
        threshold_dbfs: float = ONSET_THRESHOLD_DBFS,
        hangover_frames: int = OFFSET_HANGOVER_FRAMES,
    ) -> None:
        self.meter = PacketLevelMeter(
            timeline, threshold_dbfs=threshold_dbfs, hangover_frames=hangover_frames
        )
        self._track: Any = None
        self._stopped = False

    @property
    def detector(self) -> LevelDetector:
        return self.meter.detector

    @property
    def jitter(self) -> ArrivalJitter:
        return self.meter.jitter

    @property
    def sequence(self) -> SequenceCounts:
        return self.meter.sequence

    @property
    def recording(self) -> bool:
        return False

    def hook_receiver(self, receiver: Any, datagrams: DatagramArrivals | None = None) -> None:
        """Take this RTCRtpReceiver over before media flows (its decode path never starts)."""
        take_over_receiver(receiver, self.meter.on_packet, datagrams)

    def start(self, track: Any) -> None:
        """Keep the remote track only to end it on stop: it never receives a frame."""
        self._track = track

    async def stop(self) -> None:
        """Record a pending offset and end the remote track."""
        if self._stopped:
            return
        self._stopped = True
        self.meter.finish()
        if self._track is not None:
            self._track.stop()

    def begin_segment(self, path: Path) -> None:
        raise HarnessError(
            f"cannot record {path}: this session does not decode received audio (decode_output=False)"
        )

    def end_segment(self) -> CapturedAudio:
        raise HarnessError("no recording: this session does not decode received audio (decode_output=False)")
