"""Start/stop of the stand-in: ``serve`` under Ctrl-C, and a shutdown in the middle of a response."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from harness.server import ServerConfig, StandInServer

if TYPE_CHECKING:
    from tests.support.raw_peer import RawPeer


async def test_shutdown_mid_response_leaves_nothing_running(
    raw_peer: type[RawPeer], wait_until: Callable[..., Awaitable[None]]
) -> None:
    server = StandInServer(ServerConfig(host="127.0.0.1", port=0, api_key=None))
    await server.start()
    peer = raw_peer()
    try:
        await peer.connect(server.base_url, "sk-anything")
        await peer.expect("session.created")
        peer.send({"type": "response.create"})
        await peer.expect("output_audio_buffer.started")
        workers = [w.process for w in server._asr._all] if server._asr is not None else []
        await server.close()
        assert server.calls == {}
        assert all(process.returncode is not None for process in workers)
        leftover = [t.get_name() for t in asyncio.all_tasks() if t.get_name().startswith("rth-")]
        assert leftover == []
        await wait_until(lambda: peer.pc.connectionState in ("closed", "failed"), what="the peer to notice")
    finally:
        await peer.close()
        await server.close()


def test_serve_prints_url_and_stops_on_ctrl_c() -> None:
    code = "from harness.server import ServerConfig, serve; serve(ServerConfig(host='127.0.0.1', port=0))"
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("rth stand-in listening on http://127.0.0.1:"), line
        assert line.rstrip().endswith("/v1"), line
        playground = process.stdout.readline()
        assert playground.startswith(f"rth playground: {line.split()[-1].removesuffix('/v1')}/ "), playground
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=15)
        assert process.returncode == 0, stderr
        assert "Traceback" not in stderr, stderr
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
