"""Start/stop of the stand-in: ``serve`` under Ctrl-C, a shutdown in the middle of a response, and
``rth serve``'s options: what new sessions get, the settings line, a port already taken."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp

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


def start_serve(*options: str) -> tuple[subprocess.Popen[str], str, str]:
    """``rth serve --port 0 OPTIONS`` in a subprocess: the process, its base URL, its settings line."""
    process = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "serve", "--port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    listening = process.stdout.readline()
    assert listening.startswith("rth stand-in listening on "), listening + process.stderr.read()
    playground = process.stdout.readline()
    assert playground.startswith("rth playground: "), playground
    return process, listening.split()[-1], process.stdout.readline().strip()


async def new_session(base_url: str) -> dict[str, Any]:
    """The session a new client gets (client_secrets answers it whole, without a call)."""
    url, key = f"{base_url}/realtime/client_secrets", {"Authorization": "Bearer sk-any"}
    async with aiohttp.ClientSession() as http, http.post(url, json={}, headers=key) as r:
        assert r.status == 200, await r.text()
        session: dict[str, Any] = (await r.json())["session"]
        return session


async def test_serve_options_reach_new_sessions_and_a_taken_port_is_one_line() -> None:
    ahead, ahead_url, ahead_settings = start_serve(
        "--pace", "ahead", "--generation-speed", "5", "--turn-detection", "none", "--voice", "marin"
    )
    realtime, realtime_url, realtime_settings = start_serve(
        "--pace", "realtime", "--turn-detection", "semantic_vad"
    )
    try:
        assert ahead_settings == (
            "rth stand-in settings: --pace ahead --generation-speed 5 --turn-detection none --voice marin"
        )
        assert realtime_settings == (
            "rth stand-in settings: --pace realtime --turn-detection semantic_vad --voice cedar"
        )
        session = await new_session(ahead_url)
        assert session["audio"]["output"]["voice"] == "marin"
        assert session["audio"]["input"]["turn_detection"] is None
        session = await new_session(realtime_url)
        assert session["audio"]["input"]["turn_detection"]["type"] == "semantic_vad"

        port = urlsplit(ahead_url).port
        taken = subprocess.run(
            [sys.executable, "-m", "harness.cli", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert taken.returncode == 2, taken.stderr
        assert (taken.stdout, taken.stderr) == (
            "",
            f"rth: error: cannot listen on 127.0.0.1:{port}: Address already in use; "
            "pick another --port or --host\n",
        )
    finally:
        for process in (ahead, realtime):
            process.send_signal(signal.SIGINT)
            process.communicate(timeout=15)
