"""The HTTP half of a WebRTC call: client secrets, the SDP offer/answer exchange and hangup.

Mirrors the browser flows of the OpenAI WebRTC guide: the unified interface posts multipart
``sdp`` + ``session`` with the standard key; the ephemeral flow mints an ``ek_`` client secret
with the official SDK and posts raw ``application/sdp`` with it. In both, the target's
``call_headers`` go with the offer and nowhere else. Every failure becomes a one-line
:class:`ConnectError` (or :class:`AuthenticationError` for 401/403) naming the status, the API's
error code/message and the URL; key values are scrubbed from anything that ends up in a message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiohttp
import openai
from pydantic import SecretStr

from harness.client.target import ConnectMode, Target
from harness.errors import AuthenticationError, ConnectError

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


def http_error(status: int, body: str, url: str, *secrets: SecretStr | None) -> ConnectError:
    """The exception for a non-2xx answer (AuthenticationError for 401/403)."""
    detail = scrub(_error_detail(body), *secrets)
    cls = AuthenticationError if status in (401, 403) else ConnectError
    return cls(f"POST {url} failed: HTTP {status} {detail}")


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
) -> SdpAnswer:
    """POST the offer to ``{base_url}/realtime/calls`` and return the answer and the call id."""
    url = target.calls_url
    headers = {
        **dict(target.call_headers),
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
                raise http_error(response.status, body, url, *secrets)
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


async def create_client_secret(target: Target, *, timeout: float) -> ClientSecret:
    """Mint an ephemeral key with the official SDK (``POST /realtime/client_secrets``)."""
    url = f"{target.base_url}/realtime/client_secrets"
    secret = target.api_key
    if not secret.get_secret_value():
        raise AuthenticationError(f"POST {url} not sent: the target has an empty API key")
    try:
        client = openai.AsyncOpenAI(
            base_url=target.base_url, api_key=secret.get_secret_value(), max_retries=0, timeout=timeout
        )
        async with client:
            created = await client.realtime.client_secrets.create(
                session={"type": "realtime", "model": target.model}
            )
    except openai.APIStatusError as exc:
        body = exc.body if isinstance(exc.body, dict) else {}
        code = body.get("code") or body.get("type") or "error"
        message = body.get("message") or exc.message
        detail = scrub(f"{code}: {message}", secret)
        cls = AuthenticationError if exc.status_code in (401, 403) else ConnectError
        raise cls(f"POST {url} failed: HTTP {exc.status_code} {detail}") from None
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
