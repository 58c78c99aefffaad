"""Bad HTTP input, as a class: whatever a client posts, the stand-in answers 2xx (the input happened
to be valid) or a 4xx with the API's error shape, never a 5xx, and goes on serving.

Hypothesis draws bodies, content types, encodings, multipart layouts, routes and keys
(tests/support/fuzz.py) against one real stand-in on 127.0.0.1 per module; a call opened before the
fuzz (``bystander``) must still answer afterwards, and so must a new one.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from hypothesis import given, settings
from hypothesis import strategies as st
from openai.types.realtime import ClientSecretCreateResponse

from harness.server import StandInServer
from harness.server.playground import STATIC_DIR
from tests.support import fuzz
from tests.support.raw_peer import RawPeer
from tests.support.standin import API_KEY, connected

pytestmark = pytest.mark.asyncio(loop_scope="module")
AUTH = {"Authorization": f"Bearer {API_KEY}"}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def offer() -> bytes:
    """A real offer (raw aiortc peer), candidates dropped as in every fuzzed body."""
    peer = RawPeer()
    try:
        return fuzz.without_candidates((await peer.create_offer()).encode())
    finally:
        await peer.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bystander(ahead_server: StandInServer) -> AsyncIterator[RawPeer]:
    """A call opened before the fuzz and kept through it."""
    async with connected(ahead_server) as peer:
        yield peer


async def post(
    http: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]
) -> tuple[int, str, dict[str, str]]:
    async with http.post(url, data=body, headers=headers) as reply:
        return reply.status, await reply.text(), dict(reply.headers)


async def answered(
    http: aiohttp.ClientSession,
    server: StandInServer,
    bystander: RawPeer,
    status: int,
    text: str,
    headers: Any,
    *,
    broken_encoding: bool = False,
) -> None:
    """A created call is hung up (its answer checked); anything else is a 4xx of the API's shape
    (with a ``broken_encoding``, aiohttp's parser may refuse it first: a plain-text 400). Then no
    call is left behind and the server still mints a client secret."""
    if status == 201:
        assert text.startswith("v=0") and headers["Location"].startswith("/v1/realtime/calls/rtc_")
        hangup = f"{server.base_url}/realtime/calls/{headers['Location'].rsplit('/', 1)[-1]}/hangup"
        assert (await post(http, hangup, b"", AUTH))[0] == 200
    elif broken_encoding and headers.get("Content-Type", "").startswith("text/plain"):
        assert status == 400, (status, text)
    else:
        fuzz.assert_api_error(status, text)
    assert set(server.calls) == {bystander.call_id}
    status, text, _ = await post(http, server.base_url + "/realtime/client_secrets", b"", AUTH)
    assert status == 200, text


@settings(fuzz.FUZZ, max_examples=35)
@given(recipe=fuzz.offers, content_type=fuzz.call_content_types, encoding=fuzz.content_encodings)
async def test_any_sdp_body_is_a_call_or_the_api_error(
    ahead_server: StandInServer,
    http: aiohttp.ClientSession,
    offer: bytes,
    bystander: RawPeer,
    recipe: fuzz.Offer,
    content_type: str,
    encoding: str | None,
) -> None:
    headers = {**AUTH, "Content-Type": content_type}
    if encoding is not None:
        headers["Content-Encoding"] = encoding  # the body is not encoded: a broken encoding
    status, text, reply = await post(
        http, ahead_server.base_url + "/realtime/calls", recipe.render(offer), headers
    )
    broken = encoding not in (None, "identity")
    await answered(http, ahead_server, bystander, status, text, reply, broken_encoding=broken)


@settings(fuzz.FUZZ, max_examples=30)
@given(form=fuzz.multiparts())
async def test_any_multipart_body_is_a_call_or_the_api_error(
    ahead_server: StandInServer,
    http: aiohttp.ClientSession,
    offer: bytes,
    bystander: RawPeer,
    form: fuzz.Multipart,
) -> None:
    headers = {**AUTH, "Content-Type": form.content_type}
    status, text, reply = await post(
        http, ahead_server.base_url + "/realtime/calls", form.render(offer), headers
    )
    await answered(http, ahead_server, bystander, status, text, reply)


@settings(fuzz.FUZZ, max_examples=50)
@given(
    body=fuzz.secret_bodies(),
    content_type=st.sampled_from(["application/json", "text/plain", ""]) | fuzz.header_values,
)
async def test_any_client_secret_body_is_a_key_or_the_api_error(
    ahead_server: StandInServer,
    http: aiohttp.ClientSession,
    bystander: RawPeer,
    body: bytes,
    content_type: str,
) -> None:
    url = ahead_server.base_url + "/realtime/client_secrets"
    status, text, _ = await post(http, url, body, {**AUTH, "Content-Type": content_type})
    if status == 200:
        secret = ClientSecretCreateResponse.model_validate(json.loads(text))  # strict, unlike the SDK
        assert secret.value.startswith("ek_")
    else:
        fuzz.assert_api_error(status, text)
    assert set(ahead_server.calls) == {bystander.call_id}


@settings(fuzz.FUZZ, max_examples=30)
@given(route=fuzz.routes(), key=st.none() | fuzz.header_values, body=st.binary(max_size=60))
async def test_any_route_and_key_is_the_api_error(
    ahead_server: StandInServer,
    http: aiohttp.ClientSession,
    bystander: RawPeer,
    route: tuple[str, str],
    key: str | None,
    body: bytes,
) -> None:
    """Unknown routes, wrong methods, hangups of calls that do not exist, missing or wrong keys;
    the playground's page and files are the only 2xx, and never a file outside its folder."""
    method, path = route
    url = ahead_server.base_url.removesuffix("/v1") + path
    headers = {} if key is None else {"Authorization": key}
    async with http.request(method, url, data=body, headers=headers) as reply:
        status, text, served = reply.status, await reply.text(errors="replace"), reply.url.path
    if status == 200:
        assert method in ("GET", "HEAD") and (served == "/" or served.startswith("/playground/")), served
        file = (STATIC_DIR / served.removeprefix("/playground/")).resolve()
        assert served == "/" or (file.is_relative_to(STATIC_DIR.resolve()) and file.is_file()), served
    elif method == "HEAD":
        assert 400 <= status < 500, status  # no body to check
    else:
        fuzz.assert_api_error(status, text)
    assert set(ahead_server.calls) == {bystander.call_id}


async def raw_request(port: int, request: bytes) -> tuple[int, bytes]:
    """One request over a plain socket (framing aiohttp's client would never send)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        reply = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    head, _, body = reply.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


@settings(fuzz.FUZZ, max_examples=20)
@given(
    path=st.sampled_from([b"/v1/realtime/calls", b"/v1/realtime/client_secrets"]),
    framing=st.sampled_from(
        [b"Transfer-Encoding: chunked", b"Content-Encoding: gzip", b"Content-Encoding: deflate"]
    ),
    key=st.just(API_KEY.encode())
    | st.binary(min_size=1, max_size=20).filter(lambda b: b"\r" not in b and b"\n" not in b),
    payload=st.binary(max_size=80),
)
async def test_broken_framing_and_key_bytes_are_a_4xx(
    ahead_server: StandInServer, bystander: RawPeer, path: bytes, framing: bytes, key: bytes, payload: bytes
) -> None:
    """Chunks and compressed bodies that do not decode, keys that are not UTF-8: a 4xx, never a 5xx.
    aiohttp itself answers what breaks before a handler runs (a plain-text 400); the rest has the
    API's shape."""
    if b"chunked" in framing:  # chunks of random sizes, then the last chunk: never incomplete
        length, payload = b"", payload + b"\r\n0\r\n\r\n"
    else:
        length = b"Content-Length: %d\r\n" % len(payload)
    head = b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: Bearer %s\r\n" % (
        path,
        key,
    )
    request = head + b"Content-Type: application/sdp\r\n" + framing + b"\r\n" + length + b"\r\n" + payload
    status, body = await raw_request(ahead_server.port, request)
    # An empty body that happens to decode is a valid client-secret request.
    assert 400 <= status < 500 or (status == 200 and path.endswith(b"client_secrets")), (status, body[:200])
    if status >= 400 and body.startswith(b"{"):
        fuzz.assert_api_error(status, body.decode())
    assert set(ahead_server.calls) == {bystander.call_id}


async def test_the_call_opened_before_the_fuzz_and_a_new_one_still_answer(
    ahead_server: StandInServer, bystander: RawPeer
) -> None:
    """Runs after the fuzz above (module order): nothing it sent disturbed other sessions."""
    await respond(bystander)
    async with connected(ahead_server) as fresh:
        await respond(fresh)


async def respond(peer: RawPeer) -> None:
    mark = len(peer.events)
    await peer.type_message("are you still there")
    response_id = await peer.create_response(output_modalities=["text"])
    _, done = await peer.expect("response.done", after=mark)
    assert done["response"]["id"] == response_id and done["response"]["status"] == "completed"
    assert not peer.invalid
