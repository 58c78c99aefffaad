"""When did a reply's first RTP packet go to the socket? (the stand-in's own first-audio record)

The reply track knows when it *produced* a reply's first frame; what a client can measure is when
that frame's packet *arrived*. Between the two lie aiortc's encoder executor (normal mode), its
sender task and SRTP, each waiting for the event loop: under load, tens to hundreds of
milliseconds that are the server's latency, not the client's measurement error. So the stand-in
records the instant the packet was handed to the kernel, which is what its timing log
(``rth serve --timing-log``) calls the reply's first audio.

How: the track tells :class:`RtpSendClock` the pts of each reply's first frame; a wrapper on this
call's DTLS transport ``_send_rtp`` (an instance attribute: this call only) reads the RTP
timestamp of each outgoing packet of our SSRC before SRTP protects it and resolves the segment
waiting for that pts with the instant read just before the packet went down (SRTP and ``sendto``
take microseconds; an instant read after them could land milliseconds late whenever another
thread took the GIL in between). aiortc's RTP timestamps are a
random origin plus the encoder's timestamp, which counts samples from the first frame sent (the
Opus encoder cancels its own initial padding; pre-encoded packets keep their pts), and the reply
track's pts starts at 0: so ``timestamp - first timestamp`` is the frame's pts.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiortc.rtp import is_rtcp

_WRAP = 1 << 32
_MAX_EXPECTED = 64  # replies awaiting their first packet; older ones are given up


class SentMark(Protocol):
    def mark_sent(self, at: float) -> None: ...


class RtpSendClock:
    """pts of reply starts -> their segments, resolved when the packet carrying that pts is sent."""

    def __init__(self) -> None:
        self._expected: dict[int, SentMark] = {}
        self._origin: int | None = None

    def expect(self, pts: int, segment: SentMark) -> None:
        """``segment``'s first samples are in the frame at ``pts``: tell it when that frame is sent."""
        self._expected[pts] = segment
        while len(self._expected) > _MAX_EXPECTED:
            del self._expected[next(iter(self._expected))]

    def install(self, dtls_transport: Any, ssrc: int) -> None:
        """Watch RTP of ``ssrc`` leaving through ``dtls_transport`` (after the answer is made)."""
        original: Callable[[bytes], Awaitable[None]] = dtls_transport._send_rtp

        async def send_rtp(data: bytes) -> None:
            handed_over = time.monotonic()
            await original(data)
            if len(data) >= 12 and not is_rtcp(data) and int.from_bytes(data[8:12], "big") == ssrc:
                self.sent(int.from_bytes(data[4:8], "big"), handed_over)

        dtls_transport._send_rtp = send_rtp

    def sent(self, rtp_timestamp: int, at: float) -> None:
        """One packet of the reply track left at monotonic ``at``."""
        if self._origin is None:
            self._origin = rtp_timestamp
        if not self._expected:
            return
        pts = (rtp_timestamp - self._origin) % _WRAP
        segment = self._expected.pop(pts, None)
        if segment is not None:
            segment.mark_sent(at)
        for stale in [key for key in self._expected if key < pts]:  # never sent (e.g. sender disabled)
            del self._expected[stale]
