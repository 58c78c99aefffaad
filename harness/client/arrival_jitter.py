"""Interarrival jitter of the received audio, from when its packets really arrived.

aiortc's receiver estimates RFC 3550 jitter (section 6.4.1) from ``time.time()`` read when its
task handles a packet, so on a loaded machine the event loop's own lateness reads as network
jitter (a loopback call showed 26 ms with no impairment at all). This is the same estimator fed
with each packet's arrival instant as :mod:`harness.client.arrival` gives it: the kernel's receive
stamp of its datagram (:mod:`harness.client.datagram_arrival`), so the figure is the network's.
As in aiortc and RFC 3550, only packets in sequence order count, and packets that share a
timestamp (one frame split up) are compared once.
"""

from __future__ import annotations

from typing import Any

from aiortc.utils import uint16_gt

from harness.protocol import SAMPLE_RATE

_WRAP = 1 << 32
_HALF = 1 << 31


class ArrivalJitter:
    """RFC 3550 interarrival jitter, in RTP timestamp units, from arrival instants in seconds."""

    def __init__(self, clockrate: int = SAMPLE_RATE) -> None:
        self.clockrate = clockrate
        self.jitter = 0.0  # RTP timestamp units, like aiortc's ``jitter``
        self.packets = 0
        self._max_seq: int | None = None
        self._last_arrival: float | None = None  # seconds
        self._last_timestamp: int | None = None

    def add(self, packet: Any, arrival: float) -> None:
        """One received RTP packet and its arrival (``time.monotonic()`` seconds)."""
        self.packets += 1
        if self._max_seq is not None and not uint16_gt(packet.sequence_number, self._max_seq):
            return  # late or repeated: RFC 3550 counts arrivals in sequence order only
        self._max_seq = packet.sequence_number
        if self._last_arrival is not None and self._last_timestamp is not None:
            if packet.timestamp == self._last_timestamp:
                return
            sent = ((packet.timestamp - self._last_timestamp + _HALF) % _WRAP) - _HALF
            transit_change = abs((arrival - self._last_arrival) * self.clockrate - sent)
            self.jitter += (transit_change - self.jitter) / 16
        self._last_arrival, self._last_timestamp = arrival, packet.timestamp

    @property
    def jitter_ms(self) -> float | None:
        """The estimate in milliseconds; None before two packets were compared."""
        if self.packets < 2:
            return None
        return round(self.jitter * 1000 / self.clockrate, 3)
