"""When did the kernel receive the datagram that aiortc is handling now? (receive timestamps)

aiortc stamps an RTP packet's arrival (``arrival_time_ms``) when its DTLS task gets round to the
datagram: after asyncio's selector fired, aioice queued it and the task was scheduled. Under
load (many sessions on one loop, other processes on the cores) that is milliseconds to seconds
after the packet arrived, and ``first_audio_ms`` would carry the wait. The kernel stamps every
datagram as it arrives; reading that stamp takes the wait out of the figure.

How, without replacing aioice's sockets: Linux keeps the receive time of the *last* datagram read
from a socket, readable with the ``SIOCGSTAMPNS`` ioctl (``socket(7)``), as long as no
``SO_TIMESTAMP*`` option redirects it to ancillary data. asyncio's datagram transport reads one
datagram and calls ``datagram_received`` synchronously, so a wrapper there reads the stamp of
exactly that datagram (one ~1 us syscall). aioice then queues the datagram for the DTLS task
(``Connection.data_received`` -> ``asyncio.Queue``); a FIFO of stamps kept in step with that queue
gives, when ``Connection.recvfrom`` hands the datagram to aiortc, the stamp of the datagram it
returned (:attr:`DatagramArrivals.current`). aiortc handles the datagram and calls the RTP
receiver without yielding in between, so a receiver hook reads the stamp of its own packet.

Linux turns stamping on for the whole system through deferred work when the first socket asks
(``net_enable_timestamp``), and a datagram that arrives before that work has run reads back as
the instant it was read. :meth:`DatagramArrivals.install` asks at connect time, long before the
first audio packet; measured here, the switch was on 0.1-1 ms after the ask on an idle machine
(longer on a loaded one), against hundreds of milliseconds before a reply's audio.

The wrappers are instance attributes on this session's aioice objects only (nothing global).
Where the ioctl is unavailable (not Linux) the stamp is the ``datagram_received`` instant: the
selector's wake-up, still before the queue and task waits.
"""

from __future__ import annotations

import fcntl
import struct
import time
from collections import deque
from typing import Any

SIOCGSTAMPNS = 0x8907  # linux/sockios.h: struct timespec of the last datagram read from a socket
_TIMESPEC = struct.Struct("@qq")
_EMPTY_TIMESPEC = bytes(_TIMESPEC.size)
MAX_AGE_S = 60.0  # the datagram was just read, so only a stepped wall clock makes it older (or negative)


def kernel_receive_time(fd: int) -> float | None:
    """``time.monotonic()`` reading of when the kernel received the last datagram read from ``fd``."""
    try:
        seconds, nanoseconds = _TIMESPEC.unpack(fcntl.ioctl(fd, SIOCGSTAMPNS, _EMPTY_TIMESPEC))
    except OSError:  # ENOENT before the first stamped datagram; unsupported elsewhere
        return None
    wall_ns = time.clock_gettime_ns(time.CLOCK_REALTIME)
    age_s = (wall_ns - (int(seconds) * 1_000_000_000 + int(nanoseconds))) / 1e9
    now = time.monotonic()
    if not 0.0 <= age_s <= MAX_AGE_S:  # the wall clock was stepped in between: not trustworthy
        return None
    return now - age_s


class DatagramArrivals:
    """Receive instants of one aioice ``Connection``'s data datagrams, in the order aiortc reads them."""

    def __init__(self) -> None:
        self.current: float | None = None  # stamp of the datagram aiortc is handling now
        self.stamped = 0  # datagrams with a kernel stamp
        self.unstamped = 0  # datagrams stamped at the selector's wake-up instead
        self._queued: deque[float] = deque()
        self._received: float | None = None

    def install(self, connection: Any) -> None:
        """Wrap this connection's protocols' ``datagram_received`` and its ``data_received`` /
        ``recvfrom``; call after ICE gathering (the sockets exist) and before media flows."""
        for protocol in getattr(connection, "_protocols", []):
            self._wrap_protocol(protocol)
        original_data_received = connection.data_received
        original_recvfrom = connection.recvfrom

        def data_received(data: bytes, component: int) -> None:
            received = self._received
            self._queued.append(time.monotonic() if received is None else received)
            original_data_received(data, component)

        async def recvfrom() -> tuple[bytes, int]:
            result = await original_recvfrom()
            self.current = self._queued.popleft() if self._queued else None
            return result  # type: ignore[no-any-return]

        connection.data_received = data_received
        connection.recvfrom = recvfrom

    def _wrap_protocol(self, protocol: Any) -> None:
        transport = getattr(protocol, "transport", None)
        sock = None if transport is None else transport.get_extra_info("socket")
        fd = -1 if sock is None else sock.fileno()
        if fd >= 0:
            kernel_receive_time(fd)  # the first call switches the socket's stamping on
        original = protocol.datagram_received

        def datagram_received(data: bytes, addr: tuple[Any, ...]) -> None:
            stamp = kernel_receive_time(fd) if fd >= 0 else None
            if stamp is None:
                self.unstamped += 1
            else:
                self.stamped += 1
            self._received = stamp
            try:
                original(data, addr)
            finally:
                self._received = None

        protocol.datagram_received = datagram_received
