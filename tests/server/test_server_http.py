"""HTTP contract of the stand-in: auth, errors, client secrets (official SDK), calls, hangup, CORS."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
from openai import AsyncOpenAI, AuthenticationError, NotFoundError
from openai.types.realtime import ClientSecretCreateResponse

from harness.server import StandInServer
from harness.server.errors import ApiError
from harness.server.keys import KeyKind, KeyStore, new_key_secret

if TYPE_CHECKING:
    from tests.support.raw_peer import RawPeer
    from tests.support.standin import FakeClock


def assert_api_error(body: dict[str, Any], code: str | None) -> dict[str, Any]:
    """The API's error shape: exactly message, type, param, code (all present)."""
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}, error
    assert isinstance(error["message"], str) and error["message"]
    assert error["code"] == code, error
    return dict(error)


async def post(
    url: str, *, key: str | None = None, data: Any = None, body: Any = None, content_type: str | None = None
) -> tuple[int, str, dict[str, str]]:
    headers = {}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    if content_type is not None:
        headers["Content-Type"] = content_type
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, data=data, json=body, headers=headers) as reply,
    ):
        return reply.status, await reply.text(), dict(reply.headers)


async def test_missing_key_is_401_invalid_api_key(server: StandInServer) -> None:
    for path in ("/realtime/calls", "/realtime/client_secrets", "/realtime/calls/rtc_x/hangup"):
        status, text, _ = await post(server.base_url + path, data="v=0\r\n", content_type="application/sdp")
        assert status == 401, path
        assert_api_error(json.loads(text), "invalid_api_key")


async def test_wrong_key_is_401_and_never_echoed(
    server: StandInServer, caplog: pytest.LogCaptureFixture, api_key: str
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "sk-wrong-DO-NOT-ECHO-123456"
    status, text, _ = await post(
        server.base_url + "/realtime/calls", key=wrong, data="v=0\r\n", content_type="application/sdp"
    )
    assert status == 401
    assert_api_error(json.loads(text), "invalid_api_key")
    client = AsyncOpenAI(base_url=server.base_url, api_key=wrong, max_retries=0)
    with pytest.raises(AuthenticationError) as raised:
        await client.realtime.client_secrets.create()
    await client.close()
    for leak in (wrong, "DO-NOT-ECHO", api_key):
        assert leak not in text and leak not in str(raised.value) and leak not in caplog.text


async def test_bad_offers_are_400_invalid_offer(
    server: StandInServer, api_key: str, raw_peer: type[RawPeer]
) -> None:
    peer = raw_peer()
    real_offer = await peer.create_offer()
    await peer.close()
    no_ice = "".join(line for line in real_offer.splitlines(keepends=True) if not line.startswith("a=ice-"))
    url = server.base_url + "/realtime/calls"
    for body in ("hello", "v=0\r\n", "", no_ice):
        status, text, _ = await post(url, key=api_key, data=body, content_type="application/sdp")
        assert status == 400, body[:20]
        assert_api_error(json.loads(text), "invalid_offer")
    status, text, _ = await post(url, key=api_key, body={"sdp": real_offer})
    assert status == 400
    assert_api_error(json.loads(text), "invalid_offer")
    assert server.calls == {}


async def test_client_secret_from_openai_sdk_then_raw_sdp_call_with_ek(
    server: StandInServer,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    api_key: str,
    raw_peer: type[RawPeer],
    candidate_addresses: Callable[[str], set[str]],
) -> None:
    caplog.set_level(logging.DEBUG)
    client = AsyncOpenAI(base_url=server.base_url, api_key=api_key, max_retries=0)
    secret = await client.realtime.client_secrets.create(
        expires_after={"anchor": "created_at", "seconds": 600},
        session={"type": "realtime", "instructions": "Be brief.", "audio": {"output": {"voice": "marin"}}},
    )
    await client.close()
    assert isinstance(secret, ClientSecretCreateResponse)
    assert secret.value.startswith("ek_")
    assert secret.expires_at == int(clock.now) + 600
    assert secret.session.type == "realtime" and secret.session.id.startswith("sess_")
    assert secret.session.audio is not None and secret.session.audio.output is not None
    assert secret.session.audio.output.voice == "marin"

    peer = raw_peer()
    try:
        await peer.connect(server.base_url, secret.value)  # raw application/sdp, as browsers do
        assert peer.call_id.startswith("rtc_") and peer.call_id in server.calls
        assert candidate_addresses(peer.offer_sdp) == {"127.0.0.1"}
        assert candidate_addresses(peer.answer_sdp) == {"127.0.0.1"}
        assert "a=setup:active" in peer.answer_sdp and "opus/48000/2" in peer.answer_sdp
        answer = peer.answer_sdp.splitlines()
        bundle = next(line for line in answer if line.startswith("a=group:BUNDLE ")).split()[1:]
        assert bundle == [line[len("a=mid:") :] for line in answer if line.startswith("a=mid:")]
        assert len(bundle) == 2  # audio and the data channel share one transport
        _, created = await peer.expect("session.created")
        assert created["session"]["instructions"] == "Be brief."
        assert created["session"]["audio"]["output"]["voice"] == "marin"
        peer.assert_valid()
    finally:
        await peer.close()
    assert secret.value not in caplog.text


async def test_expired_ephemeral_key_is_rejected(
    server: StandInServer, clock: FakeClock, api_key: str
) -> None:
    status, text, _ = await post(
        server.base_url + "/realtime/client_secrets", key=api_key, body={"expires_after": {"seconds": 10}}
    )
    assert status == 200, text
    ClientSecretCreateResponse.model_validate(json.loads(text))  # strict (the SDK parses leniently)
    ek = json.loads(text)["value"]
    status, text, _ = await post(server.base_url + "/realtime/client_secrets", key=ek, body={})
    assert status == 401, "an ephemeral key cannot mint client secrets"
    clock.advance(11)
    status, text, _ = await post(
        server.base_url + "/realtime/calls", key=ek, data="v=0\r\n", content_type="application/sdp"
    )
    assert status == 401
    error = assert_api_error(json.loads(text), "invalid_api_key")
    assert "expired" in error["message"] and ek not in text


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"expires_after": {"seconds": 9}}, "expires_after.seconds"),
        ({"expires_after": {"seconds": 7201}}, "expires_after.seconds"),
        ({"expires_after": {"anchor": "now"}}, "expires_after.anchor"),
        (
            {"session": {"type": "realtime", "audio": {"output": {"voice": "nobody"}}}},
            "session.audio.output.voice",
        ),
        ({"session": {"model": "gpt-realtime"}}, "session.type"),
    ],
)
async def test_client_secret_validation(
    server: StandInServer, body: dict[str, Any], param: str, api_key: str
) -> None:
    status, text, _ = await post(server.base_url + "/realtime/client_secrets", key=api_key, body=body)
    assert status == 400
    error = json.loads(text)["error"]
    assert error["param"] == param, error


async def test_multipart_offer_from_openai_sdk(
    server: StandInServer, api_key: str, raw_peer: type[RawPeer]
) -> None:
    peer = raw_peer()
    client = AsyncOpenAI(base_url=server.base_url, api_key=api_key, max_retries=0)
    try:
        offer = await peer.create_offer()
        answer = await client.realtime.calls.create(
            sdp=offer, session={"type": "realtime", "instructions": "from multipart"}
        )
        assert answer.response.status_code == 201
        assert answer.response.headers["content-type"].startswith("application/sdp")
        await peer.accept_answer(answer.text, answer.response.headers["location"])
        _, created = await peer.expect("session.created")
        assert created["session"]["instructions"] == "from multipart"
        await client.realtime.calls.hangup(peer.call_id)
        assert peer.call_id not in server.calls
        with pytest.raises(NotFoundError):
            await client.realtime.calls.hangup(peer.call_id)
    finally:
        await client.close()
        await peer.close()


async def test_hangup_closes_the_call(
    server: StandInServer, peer: RawPeer, api_key: str, wait_until: Callable[..., Awaitable[None]]
) -> None:
    url = f"{server.base_url}/realtime/calls/{peer.call_id}/hangup"
    assert peer.call_id in server.calls
    status, _, _ = await post(url, key=api_key)
    assert status == 200
    assert peer.call_id not in server.calls
    await wait_until(lambda: peer.channel.readyState == "closed", what="the client's data channel to close")
    status, text, _ = await post(url, key=api_key)
    assert status == 404
    assert_api_error(json.loads(text), "call_not_found")


async def test_client_close_releases_the_call(
    server: StandInServer, api_key: str, raw_peer: type[RawPeer], wait_until: Callable[..., Awaitable[None]]
) -> None:
    peer = raw_peer()
    await peer.connect(server.base_url, api_key)
    assert peer.call_id in server.calls
    await peer.close()
    await wait_until(lambda: not server.calls, what="the server to drop the call")


async def test_cors_preflight_and_exposed_location(server: StandInServer) -> None:
    headers = {
        "Origin": "http://page.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-openai-agents-sdk",
    }
    async with (
        aiohttp.ClientSession() as http,
        http.options(server.base_url + "/realtime/calls", headers=headers) as reply,
    ):
        assert reply.status == 204
        assert reply.headers["Access-Control-Allow-Origin"] == "*"
        assert "x-openai-agents-sdk" in reply.headers["Access-Control-Allow-Headers"]
        assert "POST" in reply.headers["Access-Control-Allow-Methods"]
    _, _, response_headers = await post(server.base_url + "/realtime/calls", data="x")
    assert response_headers["Access-Control-Expose-Headers"] == "Location"


async def test_unknown_route_has_the_error_shape(server: StandInServer, api_key: str) -> None:
    status, text, _ = await post(server.base_url + "/realtime/nothing", key=api_key)
    assert status == 404
    assert_api_error(json.loads(text), None)


def test_ephemeral_keys_are_signed_tokens_any_holder_of_the_secret_accepts(clock: FakeClock) -> None:
    """What lets every process of a ``--workers`` server accept the keys any of them minted."""
    secret = new_key_secret()
    minter, other_worker = KeyStore(None, clock, secret), KeyStore(None, clock, secret)
    key = minter.mint({"type": "realtime", "instructions": "Be brief."}, ttl_seconds=60)
    assert key.value.startswith("ek_") and key.value != minter.mint({"type": "realtime"}, 60).value
    principal = other_worker.authenticate(f"Bearer {key.value}")
    assert principal.kind is KeyKind.EPHEMERAL and principal.session == key.session
    body, _, signature = key.value.rpartition(".")
    forged = [
        key.value + "x",
        f"{body[:-2]}{'A' if body[-2] != 'A' else 'B'}{body[-1]}.{signature}",
        "ek_" + "é" * 8 + "." + signature,
        "ek_nodot",
    ]
    for bad in [*forged, key.value]:
        store = KeyStore(None, clock, new_key_secret()) if bad == key.value else other_worker
        with pytest.raises(ApiError) as raised:
            store.authenticate(f"Bearer {bad}")
        assert raised.value.status == 401 and "Incorrect API key" in str(raised.value.message)
    clock.advance(61)
    with pytest.raises(ApiError, match="expired"):
        other_worker.authenticate(f"Bearer {key.value}")
