"""The HTTP half of a WebRTC call: client secrets, the SDP offer/answer exchange and hangup.

Mirrors the browser flows of the OpenAI WebRTC guide: the unified interface posts multipart
``sdp`` + ``session`` with the standard key; the ephemeral flow mints an ``ek_`` client secret
with the official SDK and posts raw ``application/sdp`` with it. In both, the target's
``call_headers`` go with the offer and its ``secret_headers`` with the client secret request, and
nowhere else. Every failure becomes a one-line :class:`ConnectError` naming the URL; an error
status is an :class:`HttpStatusError` (:class:`AuthenticationError` for 401/403) with the status,
the API's error code/message and the ``Retry-After`` it asked for, which
:mod:`harness.client.retry` honours. Key values are scrubbed from anything that ends up in a message.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import openai
from pydantic import SecretStr

from harness.client.retry import OnRetry, RetryPolicy, with_retries
from harness.client.target import ConnectMode, Target
from harness.errors import AuthenticationError, ConnectError, HttpStatusError
from harness.protocol import Milestone
from harness.timeline import Timeline

_MAX_DETAIL = 300  # characters of a server error message kept in an exception


@dataclass(frozen=True, slots=True)
class SdpAnswer:
    """What ``POST /realtime/calls`` returned."""

    sdp: str
    call_id: str  # last path segment of Location, e.g. "rtc_..."
    location: str
    status: int


@dataclass(frozen=True, slots=True)
class ClientSecret:
    """An ephemeral ``ek_`` key (secret) and its expiry (unix seconds)."""

    value: SecretStr
    expires_at: int | None


def scrub(text: str, *secrets: SecretStr | None) -> str:
    """Remove secret values from text bound for an exception or a log line; keep it one line."""
    for secret in secrets:
        if secret is not None and (value := secret.get_secret_value()):
            text = text.replace(value, "***")
    text = " ".join(text.split())
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 3] + "..."


def _error_detail(body: str) -> str:
    """``code: message`` from an OpenAI-style error body, else the start of the raw body."""
    try:
        parsed: Any = json.loads(body)
    except ValueError:
        return body.strip() or "(empty body)"
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if isinstance(error, dict):
        code = error.get("code") or error.get("type") or "error"
        return f"{code}: {error.get('message') or '(no message)'}"
    return body.strip()


def retry_after_s(value: str | None) -> float | None:
    """A ``Retry-After`` header in seconds: delay-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if value is None or not value.strip():
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None  # unreadable: as if absent


def http_error(
    status: int, body: str, url: str, *secrets: SecretStr | None, retry_after: str | None = None
) -> HttpStatusError:
    """The exception for a non-2xx answer (AuthenticationError for 401/403), ``secrets`` scrubbed;
    ``retry_after`` is the answer's ``Retry-After`` header."""
    message = f"POST {url} failed: HTTP {status} {scrub(_error_detail(body), *secrets)}"
    if status in (401, 403):
        return AuthenticationError(message, status=status)
    wait = retry_after_s(retry_after)
    if wait is not None:
        message += f" (retry-after {wait:g} s)"
    return HttpStatusError(message, status=status, retry_after_s=wait)


def call_id_from_location(location: str) -> str:
    """``/v1/realtime/calls/rtc_123`` -> ``rtc_123`` (what the JS clients do with split('/').pop())."""
    return location.split("?", 1)[0].rstrip("/").split("/")[-1]


async def post_offer(
    target: Target,
    offer_sdp: str,
    *,
    mode: ConnectMode,
    bearer: SecretStr,
    timeout: float,
    attempt: int = 1,
) -> SdpAnswer:
    """POST the offer to ``{base_url}/realtime/calls`` and return the answer and the call id."""
    url = target.calls_url
    headers = {
        **target.attempt(target.call_headers, attempt),
        "Authorization": f"Bearer {bearer.get_secret_value()}",
        "Accept": "application/sdp",
    }
    data: aiohttp.FormData | bytes
    if mode is ConnectMode.UNIFIED:
        data = aiohttp.FormData()
        data.add_field("sdp", offer_sdp, content_type="application/sdp")
        session = {"type": "realtime", "model": target.model}
        data.add_field("session", json.dumps(session), content_type="application/json")
    else:
        data = offer_sdp.encode("utf-8")
        headers["Content-Type"] = "application/sdp"
    secrets = (target.api_key, bearer)
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as http,
            http.post(url, data=data, headers=headers, allow_redirects=False) as response,
        ):
            body = await response.text()
            if not 200 <= response.status < 300:
                retry_after = response.headers.get("Retry-After")
                raise http_error(response.status, body, url, *secrets, retry_after=retry_after)
            location = response.headers.get("Location", "")
            status = response.status
    except TimeoutError as exc:
        raise ConnectError(f"POST {url} timed out after {timeout:g} s") from exc
    except aiohttp.ClientError as exc:
        raise ConnectError(f"POST {url} failed: {scrub(str(exc) or type(exc).__name__, *secrets)}") from exc
    if not location:
        raise ConnectError(f"POST {url} answered HTTP {status} without a Location header (no call id)")
    if not body.startswith("v=0"):
        raise ConnectError(
            f"POST {url} answered HTTP {status} but the body is not an SDP answer: "
            f"{scrub(body[:60], *secrets)!r}"
        )
    return SdpAnswer(sdp=body, call_id=call_id_from_location(location), location=location, status=status)


async def create_client_secret(target: Target, *, timeout: float, attempt: int = 1) -> ClientSecret:
    """Mint an ephemeral key with the official SDK (``POST /realtime/client_secrets``)."""
    url = target.client_secrets_url
    secret = target.api_key
    if not secret.get_secret_value():
        raise AuthenticationError(f"POST {url} not sent: the target has an empty API key")
    try:
        client = openai.AsyncOpenAI(
            base_url=target.base_url, api_key=secret.get_secret_value(), max_retries=0, timeout=timeout
        )
        async with client:
            created = await client.realtime.client_secrets.create(
                session={"type": "realtime", "model": target.model},
                extra_headers=target.attempt(target.secret_headers, attempt),
            )
    except openai.APIStatusError as exc:
        retry_after = exc.response.headers.get("Retry-After")
        raise http_error(exc.status_code, exc.response.text, url, secret, retry_after=retry_after) from None
    except openai.APITimeoutError:
        raise ConnectError(f"POST {url} timed out after {timeout:g} s") from None
    except openai.APIConnectionError as exc:
        cause = exc.__cause__ or exc
        raise ConnectError(
            f"POST {url} failed: {scrub(str(cause) or type(cause).__name__, secret)}"
        ) from None
    except openai.OpenAIError as exc:
        raise ConnectError(f"POST {url} failed: {scrub(str(exc) or type(exc).__name__, secret)}") from None
    if not created.value:
        raise ConnectError(f"POST {url} returned no client secret value")
    return ClientSecret(value=SecretStr(created.value), expires_at=created.expires_at)


def _mark_retry(timeline: Timeline, url: str) -> OnRetry:
    def mark(retry: int, error: HttpStatusError, wait_s: float) -> None:
        data = {"url": url, "retry": retry, "status": error.status, "wait_s": round(wait_s, 3)}
        timeline.mark(Milestone.CONNECT_RETRY, data)

    return mark


async def authorise(
    target: Target,
    mode: ConnectMode,
    timeline: Timeline,
    *,
    timeout: float,
    retry: RetryPolicy,
    deadline: float,
) -> SecretStr:
    """The bearer of the offer: the API key (unified), or a client secret minted with it
    (ephemeral; retried as ``retry`` says, each retry a ``connect.retry`` milestone)."""
    if mode is not ConnectMode.EPHEMERAL:
        return target.api_key
    secret = await with_retries(
        lambda attempt: create_client_secret(target, timeout=timeout, attempt=attempt),
        retry,
        deadline=deadline,
        on_retry=_mark_retry(timeline, target.client_secrets_url),
    )
    timeline.mark(Milestone.CLIENT_SECRET_CREATED, {"expires_at": secret.expires_at})
    return secret.value


async def exchange_offer(
    target: Target,
    offer_sdp: str,
    mode: ConnectMode,
    bearer: SecretStr,
    timeline: Timeline,
    *,
    timeout: float,
    retry: RetryPolicy,
    deadline: float,
) -> SdpAnswer:
    """:func:`post_offer`, retried as ``retry`` says (each retry a ``connect.retry`` milestone)."""
    return await with_retries(
        lambda attempt: post_offer(
            target, offer_sdp, mode=mode, bearer=bearer, timeout=timeout, attempt=attempt
        ),
        retry,
        deadline=deadline,
        on_retry=_mark_retry(timeline, target.calls_url),
    )


async def hangup(target: Target, call_id: str, *, timeout: float) -> int:
    """POST ``/realtime/calls/{id}/hangup`` with the standard key; returns the HTTP status.

    Raises :class:`ConnectError` on transport failures; a non-2xx status is returned, not raised,
    because a failed hangup must never mask the outcome of the run.
    """
    url = target.hangup_url(call_id)
    headers = {"Authorization": f"Bearer {target.api_key.get_secret_value()}", "Accept": "*/*"}
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as http,
            http.post(url, headers=headers, allow_redirects=False) as response,
        ):
            await response.read()
            return response.status
    except TimeoutError as exc:
        raise ConnectError(f"POST {url} timed out after {timeout:g} s") from exc
    except aiohttp.ClientError as exc:
        raise ConnectError(
            f"POST {url} failed: {scrub(str(exc) or type(exc).__name__, target.api_key)}"
        ) from exc
