"""Load mode: the caller's audio is decoded only while something needs its sound, and then inline.

aiortc's ``RTCRtpReceiver`` hands every complete encoded frame to a decoder thread per call
through a ``queue.Queue`` (the private ``__decoder_queue``), and every decoded frame comes back
through ``run_coroutine_threadsafe``: two thread hops per call every 20 ms, and with tens of
decoder threads the GIL hand-offs (``Condition.notify``) cost more than the decoding. A
:class:`DecodeGate` takes that queue's place, on the event loop where aiortc puts:

- while :attr:`InputAudioBuffer.decode` is off (push-to-talk without recognition), it adds each
  frame's duration to the buffer and drops it: the clock and the turn's length stay right;
- while it is on (VAD or recognition), it decodes Opus itself, to the 16 kHz mono the buffer
  keeps (what ``consume_track`` makes of aiortc's frames), with no thread in between.

Either way it logs each packet's payload digest in the buffer's
:class:`~harness.server.asr_cache.PacketLog`, which fingerprints a committed turn for the
recognition cache. The end-of-stream marker, and any codec but Opus, still go to aiortc's
decoder. The hook is one instance attribute of one receiver (nothing global). Should aiortc rename it,
:func:`install_decode_gate` says so and leaves the receiver decoding (normal mode's behaviour).
"""

from __future__ import annotations

import logging
import queue
from fractions import Fraction
from typing import Any

import av

from harness.protocol import FRAME_SAMPLES, SAMPLE_RATE
from harness.server.asr_cache import PacketLog
from harness.server.audio_in import ASR_RATE, InputAudioBuffer

logger = logging.getLogger(__name__)

_QUEUE_ATTRIBUTE = "_RTCRtpReceiver__decoder_queue"
_TIME_BASE = Fraction(1, SAMPLE_RATE)
# Opus frame durations (ms) by TOC configuration (RFC 6716 section 3.1): SILK 0-11, hybrid 12-15, CELT 16-31.
_SILK_MS = (10.0, 20.0, 40.0, 60.0)
_HYBRID_MS = (10.0, 20.0)
_CELT_MS = (2.5, 5.0, 10.0, 20.0)


def opus_duration_ms(packet: bytes) -> float:
    """The audio one Opus packet holds, from its TOC byte (and frame count byte for code 3)."""
    if not packet:
        return 0.0
    config, code = packet[0] >> 3, packet[0] & 3
    if config < 12:
        frame_ms = _SILK_MS[config % 4]
    elif config < 16:
        frame_ms = _HYBRID_MS[config % 2]
    else:
        frame_ms = _CELT_MS[config % 4]
    if code == 0:
        frames = 1
    elif code in (1, 2):
        frames = 2
    else:
        frames = packet[1] & 0x3F if len(packet) > 1 else 0
    return frame_ms * frames


def frame_duration_ms(codec: Any, data: bytes) -> float:
    """Milliseconds of audio in one encoded frame of ``codec`` (Opus, or 8-bit G.711 at its clock)."""
    if str(codec.name).lower() == "opus":
        return opus_duration_ms(data)
    return len(data) * 1000 / int(codec.clockRate)


class InlineOpusDecoder:
    """Opus packets -> 16 kHz mono s16, one call's stream (the decoder keeps state between packets)."""

    def __init__(self) -> None:
        self._codec = av.CodecContext.create("libopus", "r")
        self._codec.format = "s16"
        self._codec.layout = "mono"
        self._codec.sample_rate = SAMPLE_RATE
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=ASR_RATE)
        self._pts = 0

    def decode(self, data: bytes) -> bytes:
        packet = av.Packet(data)
        packet.pts, packet.time_base = self._pts, _TIME_BASE
        self._pts += FRAME_SAMPLES
        try:
            frames = self._codec.decode(packet)
        except av.FFmpegError as exc:  # as aiortc's decoder thread: log, keep the decoder state
            logger.debug("incoming Opus frame not decodable: %s", exc)
            return b""
        return b"".join(
            out.to_ndarray().tobytes() for frame in frames for out in self._resampler.resample(frame)
        )


class DecodeGate:
    """Stands in for a receiver's decoder queue: count and drop, or decode inline."""

    def __init__(self, inner: queue.Queue[Any], buffer: InputAudioBuffer) -> None:
        self._inner = inner
        self._buffer = buffer
        self._opus: InlineOpusDecoder | None = None
        if buffer.packets is None:
            buffer.packets = PacketLog(int(buffer.max_ms / 10) + 1)  # shorter packets: no fingerprint
        self._packets = buffer.packets
        self.skipped_frames = 0
        self.decoded_frames = 0

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if item is None:
            self._inner.put(item, block, timeout)
            return
        codec, encoded_frame = item
        data = encoded_frame.data
        decode, opus = self._buffer.decode, str(codec.name).lower() == "opus"
        duration = frame_duration_ms(codec, data)
        self._packets.record(data, self._buffer.received_ms, duration, decoded=decode and opus)
        if not decode:
            self.skipped_frames += 1
            self._buffer.skip(duration)
        elif opus:
            if self._opus is None:
                self._opus = InlineOpusDecoder()
            self.decoded_frames += 1
            pcm = self._opus.decode(data)
            if pcm:
                self._buffer.append(pcm)
        else:
            self._inner.put(item, block, timeout)

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        """The decoder thread reads here if it started after the gate was installed."""
        return self._inner.get(block, timeout)


def install_decode_gate(receiver: Any, buffer: InputAudioBuffer) -> DecodeGate | None:
    """Put a gate in front of ``receiver``'s decoder (before or after it started); None if
    aiortc no longer has the queue this relies on (the receiver then keeps decoding)."""
    inner = getattr(receiver, _QUEUE_ATTRIBUTE, None)
    if isinstance(inner, DecodeGate):
        return inner
    if not isinstance(inner, queue.Queue):
        logger.warning("aiortc's receiver has no %s: incoming audio is always decoded", _QUEUE_ATTRIBUTE)
        return None
    gate = DecodeGate(inner, buffer)
    setattr(receiver, _QUEUE_ATTRIBUTE, gate)
    return gate
