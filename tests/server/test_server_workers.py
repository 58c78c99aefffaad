"""``rth serve --workers N``: processes sharing one port, over real loopback HTTP and WebRTC.

Calls land on every process (named by the ``X-Rth-Worker`` answer header); an ephemeral key
minted by one process opens calls on another; a hangup reaches the call whichever process gets
it (forwarded to the owner; 404 from any process for an unknown call); SIGTERM or Ctrl-C to the
parent stops every worker. The kernel picks the process per TCP connection (each request here
is its own connection), so the tests repeat a request until it lands where they need it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from harness.protocol.standin import WORKER_HEADER
from harness.server import ServerConfig
from harness.server.workers import WorkerPool
from tests.support.raw_peer import RawPeer, wait_until
from tests.support.standin import API_KEY

in_module_loop = pytest.mark.asyncio(loop_scope="module")
TRIES = 24  # a 1/2 chance per try of the wrong process: missing 24 times in a row is ~6e-8


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def pool() -> AsyncIterator[WorkerPool]:
    config = ServerConfig(host="127.0.0.1", port=0, api_key=API_KEY, workers=2, asr_workers=1, load=True)
    async with WorkerPool(config) as running:
        yield running


async def post(url: str, key: str, body: Any = None) -> tuple[int, dict[str, Any], str]:
    """One request on its own connection: status, JSON body (or {}), answering worker."""
    async with aiohttp.ClientSession() as http, http.post(url, json=body, headers=auth(key)) as reply:
        text = await reply.text()
        return reply.status, json.loads(text) if text else {}, reply.headers[WORKER_HEADER]


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def call(pool: WorkerPool, key: str = API_KEY) -> tuple[RawPeer, str]:
    """A live call (session.created received) and the pid of the worker that answered it."""
    peer = RawPeer()
    await peer.connect(pool.base_url, key)
    await peer.expect("session.created")
    return peer, peer.reply_headers[WORKER_HEADER]


async def until(attempt: Callable[[], Awaitable[bool]], what: str) -> None:
    for _ in range(TRIES):
        if await attempt():
            return
    raise AssertionError(f"{what}: not after {TRIES} tries")


@in_module_loop
async def test_calls_are_served_by_every_worker(pool: WorkerPool) -> None:
    pids = {str(pid) for pid in pool.pids}
    answered: set[str] = set()
    peers: list[RawPeer] = []

    async def one_more() -> bool:
        peer, worker = await call(pool)
        peers.append(peer)
        answered.add(worker)
        return answered == pids

    try:
        await until(one_more, "calls on both workers")
        for peer in peers:  # every call is live on its own worker
            peer.send({"type": "response.create"})
            await peer.expect("response.done")
    finally:
        for peer in peers:
            await peer.close()


@in_module_loop
async def test_an_ephemeral_key_minted_by_one_worker_opens_calls_on_another(pool: WorkerPool) -> None:
    session = {"type": "realtime", "instructions": "Be brief."}
    status, secret, minter = await post(
        f"{pool.base_url}/realtime/client_secrets", API_KEY, {"session": session}
    )
    assert status == 200
    peers: list[RawPeer] = []

    async def on_another() -> bool:
        peer, worker = await call(pool, secret["value"])
        peers.append(peer)
        _, created = await peer.expect("session.created")
        assert created["session"]["instructions"] == "Be brief."
        return worker != minter

    try:
        await until(on_another, "a call with the key on the other worker")
    finally:
        for peer in peers:
            await peer.close()


@in_module_loop
async def test_hangup_reaches_the_call_whichever_worker_gets_it(pool: WorkerPool) -> None:
    async def hung_up_by_the_other() -> bool:
        peer, owner = await call(pool)
        try:
            status, _, answered_by = await post(
                f"{pool.base_url}/realtime/calls/{peer.call_id}/hangup", API_KEY
            )
            assert status == 200
            await wait_until(lambda: peer.pc.connectionState in ("closed", "failed"), what="the call to end")
            return answered_by != owner
        finally:
            await peer.close()

    await until(hung_up_by_the_other, "a hangup answered by the worker not owning the call")

    not_found_by: set[str] = set()

    async def unknown_call() -> bool:
        status, body, worker = await post(f"{pool.base_url}/realtime/calls/rtc_unknown/hangup", API_KEY)
        assert status == 404 and body["error"]["code"] == "call_not_found"
        not_found_by.add(worker)
        return len(not_found_by) == 2

    await until(unknown_call, "404 from both workers")


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
def test_a_signal_to_the_parent_stops_every_worker(stop: signal.Signals) -> None:
    code = (
        "from harness.server import ServerConfig, serve; "
        "serve(ServerConfig(host='127.0.0.1', port=0, workers=2, asr_workers=1))"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        workers = process.stdout.readline()
        assert workers.startswith("rth stand-in workers: "), workers
        pids = [int(pid) for pid in workers.split(":")[1].split()]
        listening = process.stdout.readline()
        assert listening.startswith("rth stand-in listening on http://127.0.0.1:"), listening
        process.send_signal(stop)  # the parent only, not its process group
        _, stderr = process.communicate(timeout=30)
        assert process.returncode == 0, stderr
        assert "Traceback" not in stderr and "Fatal" not in stderr, stderr
        for pid in pids:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
