"""Security of the stand-in: loopback by default, keys compared in constant time, ephemeral keys
that expire as asked, and no key in its logs, its output or its error messages."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from harness.server import StandInServer
from harness.server.errors import ApiError
from harness.server.keys import KeyKind, KeyStore
from tests.support import fuzz

if TYPE_CHECKING:
    from tests.support.raw_peer import RawPeer
    from tests.support.standin import FakeClock

CANARY = "sk-CANARY-7f3a9c-never-print-me"
LISTEN = "0A"  # the TCP state LISTEN in /proc/net/tcp


async def post(url: str, key: str | None, body: Any = None, *, sdp: str | None = None) -> tuple[int, str]:
    """POST ``body`` as JSON, or ``sdp`` as application/sdp."""
    headers = {} if key is None else {"Authorization": f"Bearer {key}"}
    if sdp is not None:
        headers["Content-Type"] = "application/sdp"
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, json=body, data=sdp, headers=headers) as reply,
    ):
        return reply.status, await reply.text()


async def raw_post(port: int, header_line: bytes) -> bytes:
    """A request with one header line aiohttp's own parser refuses (and logs, quoting it)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = (
        b"POST /v1/realtime/client_secrets HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\nContent-Length: 0\r\n\r\n"
    )
    writer.write(request % header_line)
    reply = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return reply


def listening_addresses(port: int) -> set[str]:
    """Local addresses of the TCP sockets listening on ``port`` (Linux /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state == LISTEN and int(port_hex, 16) == port:
                found.add(address)
    return found


async def test_rth_serve_binds_loopback_and_prints_no_key(repo_root: Path) -> None:
    """``rth serve`` as a user runs it: listening on 127.0.0.1 only, and neither its output nor its
    log (stderr, where aiohttp's parser errors go) shows the key or a minted ephemeral key."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "harness.cli", "serve", "--port", "0",
        cwd=repo_root,
        env={**os.environ, "RTH_SERVE_API_KEY": CANARY},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    try:
        line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
        assert line.startswith("rth stand-in listening on http://127.0.0.1:"), line
        base_url = line.split()[-1]
        port = int(base_url.rsplit(":", 1)[1].split("/")[0])
        assert listening_addresses(port) == {"0100007F"}  # 127.0.0.1, nothing on IPv6 or 0.0.0.0
        status, text = await post(base_url + "/realtime/client_secrets", CANARY, {})
        ephemeral = json.loads(text)["value"]
        assert status == 200 and ephemeral.startswith("ek_")
        await post(base_url + "/realtime/calls", ephemeral, sdp="v=0")
        await post(base_url + "/realtime/calls", CANARY + "-wrong")
        await raw_post(port, f"Authorization: Bearer {CANARY}\x01".encode())
        await raw_post(port, f"Authorization : Bearer {ephemeral}".encode())
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err
    output = out.decode() + err.decode()
    assert "<redacted>" in err.decode(), err  # aiohttp logged both refused lines, without the keys
    for secret in (CANARY, ephemeral, ephemeral[:20]):
        assert secret not in output


async def test_keys_never_reach_logs_or_error_messages(
    server: StandInServer, api_key: str, caplog: pytest.LogCaptureFixture, raw_peer: type[RawPeer]
) -> None:
    """Every log record (DEBUG and up: ours, aiohttp's, aiortc's) and every error body of a whole
    ephemeral-key session, wrong keys and unparseable key headers included."""
    caplog.set_level(logging.DEBUG)
    url = server.base_url + "/realtime"
    status, text = await post(f"{url}/client_secrets", api_key, {"expires_after": {"seconds": 10}})
    ephemeral = json.loads(text)["value"]
    peer = raw_peer()
    try:
        await peer.connect(server.base_url, ephemeral)
        await peer.expect("session.created")
        answers = [
            await post(f"{url}/calls/{peer.call_id}/hangup", ephemeral),
            await post(f"{url}/client_secrets", ephemeral, {}),  # an ephemeral key cannot mint
            await post(f"{url}/calls", ephemeral[:-2] + "xx"),
            await post(f"{url}/calls", api_key + "-wrong"),
        ]
    finally:
        await peer.close()
    for header in (f"Authorization: Bearer {api_key}\x01", f"Authorization : Bearer {ephemeral}"):
        await raw_post(server.port, header.encode())
    assert [status for status, _ in answers] == [200, 401, 401, 401]
    for status, text in answers[1:]:
        fuzz.assert_api_error(status, text)
    assert "<redacted>" in caplog.text  # the refused header lines were logged, keys cut out
    for secret in (api_key, ephemeral, ephemeral[:20]):
        assert secret not in caplog.text and all(secret not in text for _, text in answers)


def test_every_key_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> None:
    """Standard and ephemeral keys, right or wrong, are all checked through hmac.compare_digest."""
    compared: list[bytes] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append(a)
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    store = KeyStore(CANARY, clock)
    minted = store.mint({"type": "realtime"}, 60).value
    signature = minted.rpartition(".")[2]
    forged = minted[:-1] + ("A" if minted[-1] != "A" else "B")
    assert store.authenticate(f"Bearer {CANARY}").kind is KeyKind.STANDARD
    assert store.authenticate(f"Bearer {minted}").kind is KeyKind.EPHEMERAL
    for wrong in (CANARY[:-1], forged):
        with pytest.raises(ApiError, match="Incorrect API key"):
            store.authenticate(f"Bearer {wrong}")
    assert compared == [
        CANARY.encode(),
        signature.encode(),
        CANARY[:-1].encode(),
        forged.rpartition(".")[2].encode(),
    ]


@settings(fuzz.FUZZ, max_examples=12)
@given(seconds=st.integers(-5, 8000))
@example(seconds=9)
@example(seconds=10)
@example(seconds=7200)
@example(seconds=7201)
async def test_ephemeral_keys_expire_as_asked(
    server: StandInServer, clock: FakeClock, api_key: str, seconds: int
) -> None:
    """``expires_after.seconds`` in the API's range (10 to 7200) mints a key that works until
    ``expires_at`` and gets the API's 401 from then on; outside it, a 400 naming the field."""
    base = clock.now = 1_800_000_000.0
    url = server.base_url + "/realtime"
    status, text = await post(
        f"{url}/client_secrets", api_key, {"expires_after": {"anchor": "created_at", "seconds": seconds}}
    )
    if not 10 <= seconds <= 7200:
        assert fuzz.assert_api_error(status, text)["param"] == "expires_after.seconds"
        return
    secret = json.loads(text)
    assert status == 200 and secret["expires_at"] == int(base) + seconds
    clock.now = base + seconds - 1
    status, text = await post(f"{url}/calls", secret["value"], sdp="v=0")
    assert fuzz.assert_api_error(status, text)["code"] == "invalid_offer"  # the key was accepted
    clock.now = base + seconds
    status, text = await post(f"{url}/calls", secret["value"], sdp="v=0")
    error = fuzz.assert_api_error(status, text)
    assert status == 401 and error["code"] == "invalid_api_key" and "expired" in error["message"]
