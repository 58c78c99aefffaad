"""Kernel receive stamps survive a stalled event loop (harness.client.datagram_arrival).

Two real aioice connections on 127.0.0.1. While the receiving loop is blocked, a thread sends
datagrams to the receiver's socket; once the loop runs again, each datagram that aioice hands
over must carry the instant it reached the socket, not the instant the loop got round to it.

Linux switches receive stamping on for the whole system through deferred work when the first
socket asks for it (``net_enable_timestamp``), and off again when the last such socket closes.
A datagram that arrives before that work has run carries the instant it was *read* instead. So
each test first holds the switch on with a socket of its own and waits until a datagram comes
back with a stamp older than its read (:func:`kernel_stamping_live`); otherwise a test that
happens to run while no other socket on the machine wants stamps fails on its first datagram.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import aioice
import pytest

from harness.client.datagram_arrival import DatagramArrivals, kernel_receive_time
from harness.ice import loopback_only

STALL_S = 0.3
COUNT = 8
SPACING_S = 0.02


@contextlib.contextmanager
def kernel_stamping_live(timeout_s: float = 5.0) -> Iterator[None]:
    """Keep the kernel's receive stamping switched on, and return once it really stamps."""
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx,
    ):
        rx.bind(("127.0.0.1", 0))
        kernel_receive_time(rx.fileno())  # asks for stamps; the switch follows shortly
        deadline = time.monotonic() + timeout_s
        while True:
            tx.sendto(b"x", rx.getsockname())
            time.sleep(0.02)
            rx.recv(16)
            stamp = kernel_receive_time(rx.fileno())
            if stamp is not None and time.monotonic() - stamp >= 0.015:
                break  # stamped on arrival, 20 ms before the read
            if time.monotonic() > deadline:
                pytest.fail(f"the kernel did not switch receive stamping on within {timeout_s} s")
        yield


async def connected_pair() -> tuple[aioice.Connection, aioice.Connection]:
    with loopback_only():
        sender = aioice.Connection(ice_controlling=True, components=1)
        receiver = aioice.Connection(ice_controlling=False, components=1)
        await sender.gather_candidates()
        await receiver.gather_candidates()
    for a, b in ((sender, receiver), (receiver, sender)):
        for candidate in a.local_candidates:
            await b.add_remote_candidate(candidate)
        await b.add_remote_candidate(None)
        b.remote_username, b.remote_password = a.local_username, a.local_password
    await asyncio.gather(sender.connect(), receiver.connect())
    return sender, receiver


def send_spaced(address: tuple[str, int], sent: list[tuple[float, float]]) -> None:
    """Send COUNT datagrams, keeping for each the instants just before and after ``sendto``
    (loopback delivers, and the kernel stamps, within that window)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for i in range(COUNT):
            before = time.monotonic()
            sock.sendto(bytes([0x80, i]) + bytes(158), address)  # RTP-like, never parsed as STUN
            sent.append((before, time.monotonic()))
            time.sleep(SPACING_S)


async def test_stamps_are_the_kernel_receive_instants_not_the_loop_wakeup() -> None:
    with kernel_stamping_live():
        await stalled_loop_receives_stamped_datagrams()


async def stalled_loop_receives_stamped_datagrams() -> None:
    sender, receiver = await connected_pair()
    try:
        arrivals = DatagramArrivals()
        arrivals.install(receiver)
        [protocol] = receiver._protocols
        address = protocol.transport.get_extra_info("sockname")
        sent: list[tuple[float, float]] = []
        thread = threading.Thread(target=send_spaced, args=(address, sent))
        thread.start()
        time.sleep(STALL_S)  # the loop is stalled while the datagrams arrive
        stamps, handled_at = [], []
        for _ in range(COUNT):
            await asyncio.wait_for(receiver.recv(), timeout=5)
            stamps.append(arrivals.current)
            handled_at.append(time.monotonic())
        thread.join()
    finally:
        await asyncio.gather(sender.close(), receiver.close())

    assert arrivals.stamped >= COUNT and arrivals.unstamped == 0
    # each stamp lies within its own sendto call (loopback: microseconds) ...
    for (before, after), stamp in zip(sent, stamps, strict=True):
        assert stamp is not None
        assert before - 0.001 <= stamp <= after + 0.001
    # ... while the loop handled datagrams long after they were sent: the stamp is not the wake-up
    waits = [handled - after for (_, after), handled in zip(sent, handled_at, strict=True)]
    assert max(waits) >= STALL_S / 3, waits


def test_kernel_receive_time_of_a_plain_socket() -> None:
    with (
        kernel_stamping_live(),
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx,
    ):
        rx.bind(("127.0.0.1", 0))
        kernel_receive_time(rx.fileno())  # this socket asks for stamps too
        tx.sendto(b"x", rx.getsockname())
        sent = time.monotonic()
        time.sleep(0.05)
        rx.recv(16)
        stamp = kernel_receive_time(rx.fileno())
    assert stamp is not None
    assert stamp == pytest.approx(sent, abs=0.02)
    assert time.monotonic() - stamp >= 0.04  # the datagram's age, not the read's
