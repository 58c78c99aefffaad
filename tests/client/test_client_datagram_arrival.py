"""Kernel receive stamps survive a stalled event loop (harness.client.datagram_arrival).

Two real aioice connections on 127.0.0.1. While the receiving loop is blocked, a thread sends
datagrams to the receiver's socket; once the loop runs again, each datagram that aioice hands
over must carry the instant it reached the socket, not the instant the loop got round to it.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import aioice
import pytest

from harness.client.datagram_arrival import DatagramArrivals, kernel_receive_time
from harness.ice import loopback_only

STALL_S = 0.3
COUNT = 8
SPACING_S = 0.02


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


def send_spaced(address: tuple[str, int], sent_at: list[float]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for i in range(COUNT):
            sent_at.append(time.monotonic())
            sock.sendto(bytes([0x80, i]) + bytes(158), address)  # RTP-like, never parsed as STUN
            time.sleep(SPACING_S)


async def test_stamps_are_the_kernel_receive_instants_not_the_loop_wakeup() -> None:
    sender, receiver = await connected_pair()
    try:
        arrivals = DatagramArrivals()
        arrivals.install(receiver)
        [protocol] = receiver._protocols
        address = protocol.transport.get_extra_info("sockname")
        sent_at: list[float] = []
        thread = threading.Thread(target=send_spaced, args=(address, sent_at))
        thread.start()
        time.sleep(STALL_S)  # the loop is stalled while every datagram arrives
        stamps, handled_at = [], []
        for _ in range(COUNT):
            await asyncio.wait_for(receiver.recv(), timeout=5)
            stamps.append(arrivals.current)
            handled_at.append(time.monotonic())
        thread.join()
    finally:
        await asyncio.gather(sender.close(), receiver.close())

    assert arrivals.stamped >= COUNT and arrivals.unstamped == 0
    assert all(stamp is not None for stamp in stamps)
    # each stamp sits at its send instant (loopback: microseconds), far from when it was handled
    for sent, stamp, handled in zip(sent_at, stamps, handled_at, strict=True):
        assert stamp is not None
        assert sent <= stamp + 0.001
        assert stamp - sent < (handled - sent) / 2
    assert handled_at[0] - sent_at[0] >= STALL_S / 2  # the loop really was late


def test_kernel_receive_time_of_a_plain_socket() -> None:
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx,
    ):
        rx.bind(("127.0.0.1", 0))
        kernel_receive_time(rx.fileno())  # switches stamping on
        tx.sendto(b"x", rx.getsockname())
        sent = time.monotonic()
        time.sleep(0.05)
        rx.recv(16)
        stamp = kernel_receive_time(rx.fileno())
    assert stamp is not None
    assert stamp == pytest.approx(sent, abs=0.02)
    assert time.monotonic() - stamp >= 0.04  # the datagram's age, not the read's
