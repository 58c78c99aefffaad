"""Pre-encoded Opus input for load runs: each clip encoded once per process, never per session.

With :class:`~harness.client.audio_source.PcmFrameProducer` aiortc encodes every 20 ms frame
of every session on its default thread pool (a thread hand-off 50 times a second per session,
plus an RFC 6465 level over the samples). Load runs replay the same few clips in hundreds of
sessions, so here a clip is encoded once into 20 ms Opus packets and the track hands aiortc
``av.Packet`` objects: ``RTCRtpSender`` sends anything that is not an ``av.Frame`` through
``encoder.pack()`` (bytes + pts converted to the RTP clock), with no executor and no level
(our packets carry no ``ssrc-audio-level`` extension). The negotiated codec must be Opus, which
the session forces with ``setCodecPreferences``.

* :class:`OpusClipCache` is the one place clips are encoded: an explicit, bounded (LRU) cache
  a load worker creates once and passes to each session (nothing hidden in module state).
  Keyed by file (resolved path, size, mtime), gain and trim.
* :class:`OpusPacketProducer` is the Opus twin of ``PcmFrameProducer``: same :class:`ClipQueue`,
  so the same INPUT_AUDIO_START / END callbacks, cancel and clear; a pre-encoded silence packet
  between clips.

Packets are built once and shared by every session of the process: the track sets ``pts`` (the
running sample count) right before handing one over, and aiortc's sender packs it synchronously
as ``recv()`` returns, before any other session can touch it. Do not hold on to them.
"""

from __future__ import annotations

import fractions
import math
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np

from harness.client.audio_source import ClipQueue, Pcm, QueuedClip, load_wav, trim_samples
from harness.protocol import FRAME_SAMPLES, SAMPLE_RATE

TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)
DEFAULT_BITRATE = 48_000  # mono speech; aiortc's own encoder uses 96 kb/s stereo
DEFAULT_MAX_CLIPS = 64


@dataclass(frozen=True, slots=True)
class ClipKey:
    """What makes two encodings of a clip identical: the file as it is now, gain and trim."""

    path: str  # resolved
    size: int
    mtime_ns: int
    gain_db: float
    offset_ms: int
    duration_ms: int | None


@dataclass(frozen=True, eq=False)
class EncodedClip:
    """A clip as 20 ms Opus packets (time_base 1/48000; pts is set when each is sent)."""

    key: ClipKey
    samples: int  # PCM samples encoded (48 kHz mono, gain and trim applied)
    packets: tuple[av.Packet[Any], ...]
    payload_bytes: int

    @property
    def duration_s(self) -> float:
        return self.samples / SAMPLE_RATE


def _encoder(bitrate: int) -> av.AudioCodecContext:
    codec = av.CodecContext.create("libopus", "w")
    assert isinstance(codec, av.AudioCodecContext)
    codec.bit_rate = bitrate
    codec.format = "s16"
    codec.layout = "mono"
    codec.sample_rate = SAMPLE_RATE
    codec.time_base = TIME_BASE
    codec.options = {"application": "voip"}
    return codec


def encode_opus(samples: Pcm, *, bitrate: int = DEFAULT_BITRATE) -> list[bytes]:
    """int16 mono 48 kHz -> one Opus packet per 20 ms, enough packets to carry every sample.

    The encoder looks ahead (its first packet has a negative pts, -312 samples): packet ``k``
    holds input ``[k*960 - 312, (k+1)*960 - 312)``, so the last one or two packets carry the
    tail; the count is ``ceil((n + lookahead) / 960)`` (the PCM path's count or one more).
    """
    codec = _encoder(bitrate)
    padded = np.zeros(math.ceil(len(samples) / FRAME_SAMPLES) * FRAME_SAMPLES, dtype=np.int16)
    padded[: len(samples)] = samples
    packets: list[av.Packet[Any]] = []
    for start in range(0, len(padded), FRAME_SAMPLES):
        frame = av.AudioFrame.from_ndarray(
            padded[start : start + FRAME_SAMPLES].reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = SAMPLE_RATE
        frame.pts = start
        packets.extend(codec.encode(frame))
    packets.extend(codec.encode(None))
    if not packets:
        return []
    lookahead = -int(packets[0].pts or 0)
    needed = math.ceil((len(samples) + lookahead) / FRAME_SAMPLES) if len(samples) else 0
    return [bytes(packet) for packet in packets[:needed]]


def _shared_packet(payload: bytes) -> av.Packet[Any]:
    packet = av.Packet(payload)
    packet.time_base = TIME_BASE
    packet.pts = 0
    return packet


class OpusClipCache:
    """Clips encoded once per process; bounded, least recently used first out.

    ``get`` is synchronous (loading, resampling and encoding a few-second clip takes
    milliseconds): warm the cache with every clip before starting sessions so no session's
    pacing waits on it.
    """

    def __init__(self, *, max_clips: int = DEFAULT_MAX_CLIPS, bitrate: int = DEFAULT_BITRATE) -> None:
        if max_clips < 1:
            raise ValueError("max_clips must be at least 1")
        self.max_clips = max_clips
        self.bitrate = bitrate
        self.hits = 0
        self.misses = 0
        self._clips: OrderedDict[ClipKey, EncodedClip] = OrderedDict()
        self.silence = _shared_packet(self._encode_silence())

    def __len__(self) -> int:
        return len(self._clips)

    def get(
        self, path: Path, *, gain_db: float = 0.0, offset_ms: int = 0, duration_ms: int | None = None
    ) -> EncodedClip:
        """The clip as sent: loaded like ``load_wav`` (raises UsageError), trimmed, encoded."""
        resolved = Path(path).resolve()
        try:
            stat = resolved.stat()
            size, mtime_ns = stat.st_size, stat.st_mtime_ns
        except OSError:
            size, mtime_ns = -1, -1  # load_wav below raises the error naming the file
        key = ClipKey(str(resolved), size, mtime_ns, float(gain_db), offset_ms, duration_ms)
        found = self._clips.get(key)
        if found is not None:
            self.hits += 1
            self._clips.move_to_end(key)
            return found
        self.misses += 1
        samples = trim_samples(load_wav(resolved, gain_db=gain_db), offset_ms, duration_ms)
        payloads = encode_opus(samples, bitrate=self.bitrate)
        clip = EncodedClip(
            key=key,
            samples=len(samples),
            packets=tuple(_shared_packet(p) for p in payloads),
            payload_bytes=sum(len(p) for p in payloads),
        )
        self._clips[key] = clip
        while len(self._clips) > self.max_clips:
            self._clips.popitem(last=False)
        return clip

    def _encode_silence(self) -> bytes:
        """A steady-state packet of digital silence (after the encoder settled), reused between clips."""
        return encode_opus(np.zeros(FRAME_SAMPLES * 10, dtype=np.int16), bitrate=self.bitrate)[-2]


@dataclass(eq=False)
class OpusClip(QueuedClip):
    """One queued pre-encoded clip: a frame is a packet."""

    encoded: EncodedClip
    label: str

    @property
    def frames(self) -> int:
        return len(self.encoded.packets)


class OpusPacketProducer(ClipQueue[OpusClip]):
    """Queued pre-encoded clips, else the cache's silence packet: an ``av.Packet`` every 20 ms."""

    def __init__(self, cache: OpusClipCache) -> None:
        super().__init__()
        self.cache = cache
        self._silence = cache.silence

    def produce(self, pts: int) -> av.Packet[Any]:
        clip = self.take(pts)
        if clip is None:
            return self._silence
        index = clip.position - 1
        packets = clip.encoded.packets
        return packets[index] if index < len(packets) else self._silence  # an empty clip: one silent frame
