"""When did the RTP packet behind a decoded audio frame arrive? (the jitter-buffer correction)

aiortc's audio JitterBuffer (capacity 16, prefetch 4) hands a frame to the decoder only after
later packets arrive, so decoded frames reach ``track.recv()`` ~80 ms after their packet arrived.
Latency is measured at packet arrival instead:

* :func:`install_arrival_hook` wraps ``RTCRtpReceiver._handle_rtp_packet(packet, arrival_time_ms)``
  on *our* receiver instance only (an instance attribute shadowing the method; nothing global),
  recording ``packet.timestamp -> arrival`` in a bounded :class:`PacketArrivals` map.
* Decoded frames carry ``pts`` = RTP timestamp minus the first frame's timestamp (aiortc's
  ``TimestampMapper``, which also unwraps 32-bit wrap-around); the map unwraps the same way, so
  ``lookup(frame.pts)`` gives the arrival time of that frame's packet.
* :func:`observe_rtp_packets` is the general form (any per-packet observer, decoding untouched);
  :func:`take_over_receiver` sends packets to an observer *instead of* decoding them (the load
  path, see :mod:`harness.client.packet_levels`).

Clock: the arrival is the kernel's receive instant of the packet's datagram when the session
stamps its datagrams (:mod:`harness.client.datagram_arrival`), so waits for the event loop stay
out of it. Otherwise it is aiortc's ``arrival_time_ms`` from ``aiortc.clock.current_ms()`` (read
in ``RTCDtlsTransport._recv_next`` right before SRTP unprotect): an *integer* count of wall-clock
(UTC, CLOCK_REALTIME) milliseconds since the NTP epoch 1900-01-01, not a monotonic reading.
:func:`arrival_ms_to_monotonic` converts it by its age against the wall clock now; the
truncation to whole ms is compensated by +0.5 ms (error within +-0.5 ms), and an implausible age
(the wall clock was stepped) falls back to "now", which is exact to tens of microseconds here
because the hook runs synchronously in the same call chain as the arrival stamp.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from harness.client.datagram_arrival import DatagramArrivals
from harness.protocol import FRAME_SAMPLES

NTP_UNIX_OFFSET_S = 2_208_988_800  # seconds from 1900-01-01 (NTP epoch) to 1970-01-01 (unix epoch)
_MAX_PLAUSIBLE_AGE_S = 2.0
_WRAP = 1 << 32
_HALF = 1 << 31


def arrival_ms_to_monotonic(
    arrival_time_ms: int,
    *,
    wall: Callable[[], float] = time.time,
    monotonic: Callable[[], float] = time.monotonic,
) -> float:
    """Convert an aiortc ``arrival_time_ms`` (NTP-epoch wall-clock ms) to ``time.monotonic()`` time."""
    mono_now = monotonic()
    age_s = (wall() + NTP_UNIX_OFFSET_S) - (arrival_time_ms + 0.5) / 1000.0
    if not -0.001 <= age_s <= _MAX_PLAUSIBLE_AGE_S:
        return mono_now
    return mono_now - max(0.0, age_s)


class PacketArrivals:
    """Bounded map: unwrapped RTP timestamp (== decoded frame pts) -> arrival monotonic time."""

    def __init__(self, capacity: int = 512) -> None:
        self.capacity = capacity
        self.packets = 0
        self._map: OrderedDict[int, float] = OrderedDict()
        self._last_ts: int | None = None
        self._last_mapped = 0

    def add(self, rtp_timestamp: int, arrival: float) -> None:
        """Record one packet; the first packet defines pts 0, like aiortc's TimestampMapper."""
        if self._last_ts is None:
            mapped = 0
        else:
            diff = ((rtp_timestamp - self._last_ts + _HALF) % _WRAP) - _HALF  # signed 32-bit delta
            mapped = self._last_mapped + diff
        if self._last_ts is None or mapped >= self._last_mapped:  # a late (reordered) packet keeps the anchor
            self._last_ts, self._last_mapped = rtp_timestamp, mapped
        self.packets += 1
        self._map.setdefault(mapped, arrival)  # several packets per frame: keep the first
        while len(self._map) > self.capacity:
            self._map.popitem(last=False)

    def lookup(self, pts: int | None) -> float | None:
        """Arrival time of the packet that carried the frame at ``pts`` (None if unknown)."""
        if pts is None:
            return None
        found = self._map.get(pts)
        if found is not None:
            return found
        # Tolerate a decoder that shifts pts within the frame (e.g. codec delay): nearest earlier.
        best: int | None = None
        for key in self._map:
            if pts - FRAME_SAMPLES < key <= pts and (best is None or key > best):
                best = key
        return None if best is None else self._map[best]


PacketObserver = Callable[[Any, float], None]  # (aiortc RtpPacket, arrival as time.monotonic())


def packet_arrival(arrival_time_ms: int, datagrams: DatagramArrivals | None) -> float:
    """A packet's arrival as a ``time.monotonic()`` reading: the kernel's stamp of its datagram
    when known, else aiortc's ``arrival_time_ms`` converted."""
    if datagrams is not None and datagrams.current is not None:
        return datagrams.current
    return arrival_ms_to_monotonic(arrival_time_ms)


def observe_rtp_packets(
    receiver: Any, observer: PacketObserver, datagrams: DatagramArrivals | None = None
) -> Callable[..., Awaitable[None]]:
    """Call ``observer(packet, arrival)`` for each RTP packet of this receiver, then let aiortc
    handle it as usual (jitter buffer, decoder). Returns the installed handler."""
    original = receiver._handle_rtp_packet

    async def handle_rtp_packet(packet: Any, arrival_time_ms: int) -> None:
        observer(packet, packet_arrival(arrival_time_ms, datagrams))
        await original(packet, arrival_time_ms=arrival_time_ms)

    receiver._handle_rtp_packet = handle_rtp_packet
    return handle_rtp_packet


def install_arrival_hook(
    receiver: Any,
    arrivals: PacketArrivals,
    datagrams: DatagramArrivals | None = None,
    also: PacketObserver | None = None,
) -> None:
    """Wrap ``receiver._handle_rtp_packet`` (this instance only) to feed ``arrivals`` (and
    ``also``, e.g. a jitter estimate, with the same arrival)."""
    if getattr(receiver._handle_rtp_packet, "_rth_arrivals", None) is not None:
        return

    def stamp(packet: Any, arrival: float) -> None:
        arrivals.add(packet.timestamp, arrival)
        if also is not None:
            also(packet, arrival)

    handler = observe_rtp_packets(receiver, stamp, datagrams)
    handler._rth_arrivals = arrivals  # type: ignore[attr-defined]


class _Registration:
    """Which DTLS transport routes this receiver's packets to it (None before receive / after stop)."""

    transport: Any = None


def take_over_receiver(
    receiver: Any, observer: PacketObserver, datagrams: DatagramArrivals | None = None
) -> None:
    """Route this receiver's RTP packets to ``observer`` only: nothing is decoded.

    Replaces, on this instance only, the three methods through which aiortc drives a receiver:

    * ``receive(parameters)`` registers the receiver with its transport's RTP router (so packets
      still arrive, header extensions such as ``ssrc-audio-level`` parsed) but starts neither the
      decoder thread nor the RTCP task (no receiver reports are sent for this stream);
    * ``_handle_rtp_packet`` calls ``observer`` and stops: no jitter buffer, no depayloading, no
      decoder queue, so the remote track never receives a frame and cannot pile up;
    * ``stop()`` unregisters it.

    RTCP from the remote sender still reaches aiortc's own handler (a BYE finds no decoder to stop).
    """
    registration = _Registration()

    async def receive(parameters: Any) -> None:
        if registration.transport is None:
            registration.transport = receiver.transport
            registration.transport._register_rtp_receiver(receiver, parameters)

    async def stop() -> None:
        if registration.transport is not None:
            registration.transport._unregister_rtp_receiver(receiver)
            registration.transport = None

    async def handle_rtp_packet(packet: Any, arrival_time_ms: int) -> None:
        observer(packet, packet_arrival(arrival_time_ms, datagrams))

    receiver.receive = receive
    receiver.stop = stop
    receiver._handle_rtp_packet = handle_rtp_packet
