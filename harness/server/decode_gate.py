"""Load mode: the caller's audio is decoded only while something needs its sound.

aiortc's ``RTCRtpReceiver`` hands every complete encoded frame to its decoder thread through a
``queue.Queue`` (the private ``__decoder_queue``) and every decoded frame comes back to the event
loop through ``run_coroutine_threadsafe``: an Opus decode and two thread hops per call every 20 ms.
Push-to-talk turns without transcription need none of it, only how much audio arrived. A
:class:`DecodeGate` takes that queue's place: while :attr:`InputAudioBuffer.decode` is off it
adds each frame's duration to the buffer instead (on the event loop, where aiortc puts); frames
pass through to the decoder while it is on, and so does the end-of-stream marker, always.

The hook is one instance attribute of one receiver (nothing global). Should aiortc rename it,
:func:`install_decode_gate` says so and leaves the receiver decoding (normal mode's behaviour).
"""

from __future__ import annotations

import logging
import queue
from typing import Any

from harness.server.audio_in import InputAudioBuffer

logger = logging.getLogger(__name__)

_QUEUE_ATTRIBUTE = "_RTCRtpReceiver__decoder_queue"
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


class DecodeGate:
    """Stands in for a receiver's decoder queue: forward to the decoder, or count and drop."""

    def __init__(self, inner: queue.Queue[Any], buffer: InputAudioBuffer) -> None:
        self._inner = inner
        self._buffer = buffer
        self.skipped_frames = 0

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if item is None or self._buffer.decode:
            self._inner.put(item, block, timeout)
            return
        codec, encoded_frame = item
        self.skipped_frames += 1
        self._buffer.skip(frame_duration_ms(codec, encoded_frame.data))

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
