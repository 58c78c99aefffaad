"""Target validation and secrecy; the HTTP half of connecting (offer exchange, secrets, hangup)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

import pytest
from aiohttp import web
from pydantic import SecretStr

from harness.client import ConnectMode, Target
from harness.client.connect import (
    call_id_from_location,
    create_client_secret,
    hangup,
    http_error,
    post_offer,
    scrub,
)
from harness.errors import AuthenticationError, ConnectError, HttpStatusError, TargetError

if TYPE_CHECKING:
    from tests.support.fake_realtime import FakeRealtime

OFFER = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


def test_target_hides_the_key(api_key: str) -> None:
    target = Target("http://127.0.0.1:8089/v1/", api_key, "gpt-realtime")
    assert api_key not in repr(target) and api_key not in str(target)
    assert "**********" in repr(target)
    assert target.api_key.get_secret_value() == api_key
    assert target.base_url == "http://127.0.0.1:8089/v1"
    assert target.calls_url == "http://127.0.0.1:8089/v1/realtime/calls"
    assert target.hangup_url("rtc_1") == "http://127.0.0.1:8089/v1/realtime/calls/rtc_1/hangup"
    assert target.is_loopback and target.host == "127.0.0.1"
    assert not Target("https://api.openai.com/v1", SecretStr("sk-x")).is_loopback
    assert Target("http://localhost:1/v1", "k").is_loopback and Target("http://[::1]:1/v1", "k").is_loopback
    assert Target("http://h/v1", "k") == Target("http://h/v1", SecretStr("k"))


@pytest.mark.parametrize("url", ["127.0.0.1:8089/v1", "ftp://host/v1", "http:///v1", ""])
def test_target_rejects_bad_urls(url: str, api_key: str) -> None:
    with pytest.raises(TargetError, match="base URL"):
        Target(url, api_key)


async def test_empty_key_is_left_to_the_target(fake: FakeRealtime) -> None:
    target = Target(fake.base_url, "")
    with pytest.raises(AuthenticationError, match="HTTP 401"):
        await post_offer(target, OFFER, mode=ConnectMode.UNIFIED, bearer=target.api_key, timeout=5)
    with pytest.raises(AuthenticationError, match="empty API key"):
        await create_client_secret(target, timeout=5)


def test_http_errors_are_one_line_and_secret_free(api_key: str) -> None:
    body = (
        '{"error": {"message": "Incorrect API key provided: sk-test-SECRET-0123456789.\\nSee docs",'
        ' "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}}'
    )
    error = http_error(401, body, "http://h/v1/realtime/calls", SecretStr(api_key))
    assert isinstance(error, AuthenticationError)
    text = str(error)
    assert api_key not in text and "\n" not in text
    assert "HTTP 401" in text and "invalid_api_key" in text and "http://h/v1/realtime/calls" in text
    assert type(http_error(403, "", "u")) is AuthenticationError
    other = http_error(500, "<html>oops</html>", "u")
    assert type(other) is HttpStatusError and "HTTP 500" in str(other) and "oops" in str(other)
    assert (other.status, other.retryable, other.retry_after_s) == (500, True, None)
    assert len(scrub("x" * 1000)) <= 300


def test_call_id_from_location() -> None:
    assert call_id_from_location("/v1/realtime/calls/rtc_abc") == "rtc_abc"
    assert call_id_from_location("https://api.openai.com/v1/realtime/calls/rtc_abc/") == "rtc_abc"


async def test_unified_offer_is_multipart_with_standard_key(fake: FakeRealtime, api_key: str) -> None:
    fake.fail_calls = (400, {"code": "invalid_offer", "message": "Invalid SDP offer."})
    target = Target(fake.base_url, api_key, "gpt-realtime-mini")
    with pytest.raises(ConnectError) as info:
        await post_offer(target, OFFER, mode=ConnectMode.UNIFIED, bearer=target.api_key, timeout=5)
    assert type(info.value) is HttpStatusError and not info.value.retryable
    assert "HTTP 400 invalid_offer: Invalid SDP offer." in str(info.value) and target.calls_url in str(
        info.value
    )
    (request,) = fake.requests
    assert request["content_type"] == "multipart/form-data" and request["bearer"] == "sk-"
    assert request["parts"]["sdp"] == ("application/sdp", OFFER)  # exactly as generated, CRLFs kept
    assert request["parts"]["session"][0] == "application/json"
    assert request["parts"]["session"][1] == '{"type": "realtime", "model": "gpt-realtime-mini"}'


async def test_ephemeral_secret_then_raw_sdp(fake: FakeRealtime, api_key: str) -> None:
    fake.fail_calls = (400, {"code": "invalid_offer", "message": "no"})
    target = Target(fake.base_url, api_key)
    secret = await create_client_secret(target, timeout=5)
    assert secret.value.get_secret_value().startswith("ek_") and secret.expires_at
    assert fake.requests[0]["body"]["session"] == {"type": "realtime", "model": "gpt-realtime"}
    with pytest.raises(ConnectError):
        await post_offer(target, OFFER, mode=ConnectMode.EPHEMERAL, bearer=secret.value, timeout=5)
    request = fake.requests[1]
    assert request["content_type"] == "application/sdp" and request["bearer"] == "ek_"
    assert request["offer"] == OFFER


async def test_bad_keys_raise_authentication_error_without_the_key(fake: FakeRealtime) -> None:
    wrong = "sk-wrong-KEY-987654321"
    target = Target(fake.base_url, wrong)
    with pytest.raises(AuthenticationError) as offer_error:
        await post_offer(target, OFFER, mode=ConnectMode.UNIFIED, bearer=target.api_key, timeout=5)
    with pytest.raises(AuthenticationError) as secret_error:
        await create_client_secret(target, timeout=5)
    for error in (offer_error.value, secret_error.value):
        assert wrong not in str(error) and wrong not in repr(error)
        assert "HTTP 401" in str(error) and "invalid_api_key" in str(error)
    assert "client_secrets" in str(secret_error.value)


async def test_unreachable_target_is_a_connect_error(api_key: str) -> None:
    target = Target("http://127.0.0.1:9/v1", api_key)  # discard port: nothing listens
    with pytest.raises(ConnectError, match=r"127\.0\.0\.1:9/v1/realtime/calls") as info:
        await post_offer(target, OFFER, mode=ConnectMode.UNIFIED, bearer=target.api_key, timeout=2)
    assert api_key not in str(info.value)
    with pytest.raises(ConnectError, match="client_secrets"):
        await create_client_secret(target, timeout=2)
    with pytest.raises(ConnectError, match="hangup"):
        await hangup(target, "rtc_1", timeout=2)


Handler = Callable[[web.Request], web.Response]


@pytest.fixture
async def odd_server() -> AsyncIterator[Callable[[Handler], str]]:
    runners: list[web.AppRunner] = []

    async def start(handler: Handler) -> str:
        async def wrapped(request: web.Request) -> web.Response:
            return handler(request)

        app = web.Application()
        app.router.add_post("/v1/realtime/calls", wrapped)
        runner = web.AppRunner(app)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/v1"  # type: ignore[union-attr]

    yield start  # type: ignore[misc]
    for runner in runners:
        await runner.cleanup()


async def test_answers_without_location_or_sdp_are_rejected(
    odd_server: Callable[[Handler], str], api_key: str
) -> None:
    base = await odd_server(lambda r: web.Response(status=201, text="v=0\r\n"))  # type: ignore[misc]
    target = Target(base, api_key)
    with pytest.raises(ConnectError, match="Location"):
        await post_offer(target, OFFER, mode=ConnectMode.UNIFIED, bearer=target.api_key, timeout=5)
    base = await odd_server(  # type: ignore[misc]
        lambda r: web.Response(status=200, text="<html/>", headers={"Location": "/v1/realtime/calls/rtc_1"})
    )
    with pytest.raises(ConnectError, match="not an SDP answer"):
        await post_offer(
            Target(base, api_key), OFFER, mode=ConnectMode.UNIFIED, bearer=target.api_key, timeout=5
        )


async def test_hangup_returns_status(fake: FakeRealtime, api_key: str) -> None:
    target = Target(fake.base_url, api_key)
    assert await hangup(target, "rtc_unknown", timeout=5) == 404
    assert fake.hangups == ["rtc_unknown"]


@pytest.mark.parametrize("mode", [ConnectMode.UNIFIED, ConnectMode.EPHEMERAL])
async def test_call_headers_go_with_the_offer_only(
    fake: FakeRealtime, mode: ConnectMode, api_key: str
) -> None:
    fake.fail_calls = (400, {"code": "invalid_offer", "message": "no"})
    target = Target(fake.base_url, api_key, call_headers={"X-Rth-Test": "opaque-value"})
    bearer = target.api_key
    if mode is ConnectMode.EPHEMERAL:
        bearer = (await create_client_secret(target, timeout=5)).value
    with pytest.raises(ConnectError):
        await post_offer(target, OFFER, mode=mode, bearer=bearer, timeout=5)
    await hangup(target, "rtc_1", timeout=5)
    sent = {path: headers.get("x-rth-test") for path, headers in fake.headers}
    expected = {"calls": "opaque-value", "hangup": None}
    if mode is ConnectMode.EPHEMERAL:
        expected["client_secrets"] = None
    assert sent == expected
    assert "opaque-value" not in repr(target)  # may be a long encoded file: kept out of logs


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        ({"Authorization": "Bearer sk-x"}, "not allowed"),
        ({"cookie": "a=b"}, "not allowed"),
        ({"Content-Type": "text/plain"}, "not allowed"),
        ({"X Bad": "v"}, "invalid call header name"),
        ({"X-Ok": "two\r\nX-Injected: 1"}, "one line"),
    ],
)
def test_call_headers_refuse_credentials_and_broken_values(
    headers: dict[str, str], problem: str, api_key: str
) -> None:
    with pytest.raises(TargetError, match=problem) as raised:
        Target("http://127.0.0.1:1/v1", api_key, call_headers=headers)
    assert "sk-x" not in str(raised.value) and "\n" not in str(raised.value)
