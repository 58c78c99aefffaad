"""Impair the RTP of one peer connection: loss, jitter and a rate cap, per direction, seeded.

The one place both sides shape packets (the stand-in for ``rtp_*`` faults, the client for
``client_network``), as ``harness/ice.py`` is for ICE. It hooks the connection's DTLS transport,
below every sender and receiver: ``_send_rtp`` (plain RTP on its way out, before SRTP) and
``_handle_rtp_data`` (RTP just decrypted, before it is routed to a receiver). RTCP passes
untouched, so both ends keep reporting what they saw (receiver reports carry the loss).

aiortc has no public hook for this and no emulator of its own; a netem qdisc would need root and
would impair every flow of the machine, where this impairs one call. The hook is duck-typed (no
aiortc import: this package stays a leaf) and checked by tests against the pinned aiortc.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from harness.protocol.faults import Network

logger = logging.getLogger(__name__)

MAX_QUEUE_S = 0.3  # a rate-capped link drops what would wait longer than this (a short router queue)
PACKET_OVERHEAD_BYTES = 38  # IPv4 + UDP headers and the SRTP tag, on top of the plain RTP packet


def is_rtcp(data: bytes) -> bool:
    """RTCP packet types 192..223 sit where RTP has its payload type (RFC 5761, section 4)."""
    return len(data) > 1 and 192 <= data[1] <= 223


@dataclass
class RtpShaper:
    """Decides, packet by packet, whether and when it leaves an impaired link.

    Loss and jitter are drawn for every packet in the same order, so one seed gives one sequence
    of decisions whatever the packet sizes.
    """

    network: Network
    salt: str
    passed: int = 0
    dropped: int = 0
    _rng: random.Random = field(init=False, repr=False)
    _free_at: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(f"{self.network.seed}/{self.salt}")

    def delay(self, now: float, size: int) -> float | None:
        """Seconds from ``now`` until a ``size``-byte packet arrives past the link; None: lost."""
        lost = self._rng.random() * 100 < self.network.loss_percent
        jitter = self._rng.random() * self.network.jitter_ms / 1000
        if lost:
            self.dropped += 1
            return None
        wait = 0.0
        rate = self.network.rate_kbit_s
        if rate is not None:
            start = max(now, self._free_at)
            if start - now > MAX_QUEUE_S:
                self.dropped += 1
                return None
            self._free_at = start + (size + PACKET_OVERHEAD_BYTES) * 8 / (rate * 1000)
            wait = self._free_at - now
        self.passed += 1
        return wait + jitter


class TransportImpairment:
    """The hooks on one DTLS transport; :attr:`outgoing`/:attr:`incoming` count what they did."""

    def __init__(self, transport: Any, outgoing: Network | None, incoming: Network | None, salt: str) -> None:
        self._loop = asyncio.get_running_loop()
        self._tasks: set[asyncio.Task[None]] = set()
        self.outgoing = RtpShaper(outgoing, f"{salt}/out") if outgoing and outgoing.impaired else None
        self.incoming = RtpShaper(incoming, f"{salt}/in") if incoming and incoming.impaired else None
        if self.outgoing is not None:
            send: Callable[[bytes], Awaitable[None]] = transport._send_rtp
            transport._send_rtp = self._wrap_send(send, self.outgoing)
        if self.incoming is not None:
            handle: Callable[[bytes, int], Awaitable[None]] = transport._handle_rtp_data
            transport._handle_rtp_data = self._wrap_receive(handle, self.incoming)

    def _later(self, delay: float, deliver: Callable[[], Awaitable[None]]) -> None:
        def start() -> None:
            task = self._loop.create_task(_quietly(deliver))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        self._loop.call_later(delay, start)

    def _wrap_send(
        self, send: Callable[[bytes], Awaitable[None]], shaper: RtpShaper
    ) -> Callable[[bytes], Awaitable[None]]:
        async def impaired_send(data: bytes) -> None:
            if is_rtcp(data):
                await send(data)
                return
            delay = shaper.delay(self._loop.time(), len(data))
            if delay is None:
                return
            if delay <= 0:
                await send(data)
            else:
                self._later(delay, lambda: send(data))

        return impaired_send

    def _wrap_receive(
        self, handle: Callable[[bytes, int], Awaitable[None]], shaper: RtpShaper
    ) -> Callable[[bytes, int], Awaitable[None]]:
        async def impaired_receive(data: bytes, arrival_time_ms: int) -> None:
            delay = shaper.delay(self._loop.time(), len(data))
            if delay is None:
                return
            if delay <= 0:
                await handle(data, arrival_time_ms)
            else:  # it arrives later: the receiver's jitter figure must see that
                self._later(delay, lambda: handle(data, arrival_time_ms + round(delay * 1000)))

        return impaired_receive

    def summary(self) -> dict[str, int]:
        """Packets passed and dropped per direction, for logs."""
        counts: dict[str, int] = {}
        for name, shaper in (("out", self.outgoing), ("in", self.incoming)):
            if shaper is not None:
                counts[f"{name}_passed"], counts[f"{name}_dropped"] = shaper.passed, shaper.dropped
        return counts


async def _quietly(deliver: Callable[[], Awaitable[None]]) -> None:
    """A delayed packet whose connection closed meanwhile is simply lost."""
    with contextlib.suppress(ConnectionError):
        await deliver()


def impair_connection(
    pc: Any, *, outgoing: Network | None, incoming: Network | None, salt: str
) -> TransportImpairment | None:
    """Impair the RTP of an aiortc RTCPeerConnection (after its local description is set, when its
    transceivers have their transport). None when neither direction is impaired."""
    if not ((outgoing and outgoing.impaired) or (incoming and incoming.impaired)):
        return None
    transports = {id(t.sender.transport): t.sender.transport for t in pc.getTransceivers()}
    if not transports:  # a call without audio has no RTP to impair
        return None
    if len(transports) != 1:  # BUNDLE: one transport for everything; aiortc always bundles audio
        raise RuntimeError(f"expected one DTLS transport to impair, found {len(transports)}")
    (transport,) = transports.values()
    return TransportImpairment(transport, outgoing, incoming, salt)
