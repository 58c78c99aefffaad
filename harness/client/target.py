"""What to connect to: the API base URL, the key and the model, plus how the call is set up.

The key is held as a pydantic ``SecretStr`` so that ``repr``/``str`` of a Target (and of anything
that embeds one, such as a logged config) shows ``**********``; only the HTTP layer reads it. A
base URL never carries credentials (:mod:`harness.protocol.urls` refuses them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlsplit

from pydantic import SecretStr

from harness.errors import TargetError
from harness.ice import is_loopback_host
from harness.protocol import DEFAULT_MODEL
from harness.protocol.urls import base_url_problem, redact_url

# Credentials travel only as the api_key (a SecretStr); the rest the client sets itself.
_RESERVED_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "accept", "content-type", "content-length", "host"}
)
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP header name (RFC 9110 token)


class ConnectMode(StrEnum):
    """How the SDP offer is authorised (both are documented OpenAI browser flows)."""

    UNIFIED = "unified"  # multipart sdp + session, standard key (the "unified interface")
    EPHEMERAL = "ephemeral"  # mint an ek_ client secret first, then post raw application/sdp with it


@dataclass(frozen=True, slots=True, init=False)
class Target:
    """A Realtime API endpoint, e.g. ``Target("https://api.openai.com/v1", key, "gpt-realtime")``.

    ``call_headers`` are extra HTTP headers for the call-creation request (``POST /realtime/calls``)
    only, never for client secrets or hangup; ``secret_headers`` the same for ``POST
    /realtime/client_secrets``. They are opaque here on purpose: the client mirrors the public
    API and knows nothing of what a particular server makes of them (the runner puts the
    stand-in's persona and faults headers there, ``harness.protocol.standin``). They are not
    secret: keys and cookies are refused (credentials go in ``api_key``), as are the headers the
    client sets. ``attempt_header``, when set, names a header in which those two requests carry
    their attempt number (1, then 2, ... when retried); only a server that asks for it gets it.
    """

    base_url: str
    api_key: SecretStr
    model: str
    call_headers: tuple[tuple[str, str], ...] = field(repr=False)  # may be long (an encoded file)
    secret_headers: tuple[tuple[str, str], ...] = field(repr=False)
    attempt_header: str | None

    def __init__(
        self,
        base_url: str,
        api_key: str | SecretStr,
        model: str = DEFAULT_MODEL,
        call_headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        *,
        secret_headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        attempt_header: str | None = None,
    ) -> None:
        url = base_url.strip().rstrip("/")
        problem = base_url_problem(url)
        if problem is not None:
            raise TargetError(f"invalid target base URL {redact_url(url)}: {problem}")
        # An empty key is allowed on purpose: the target, not the client, decides (401).
        key = api_key if isinstance(api_key, SecretStr) else SecretStr(api_key)
        object.__setattr__(self, "base_url", url)
        object.__setattr__(self, "api_key", key)
        object.__setattr__(self, "model", model)
        object.__setattr__(self, "call_headers", _checked_headers(dict(call_headers)))
        object.__setattr__(self, "secret_headers", _checked_headers(dict(secret_headers)))
        if attempt_header is not None:
            _checked_headers({attempt_header: "1"})
        object.__setattr__(self, "attempt_header", attempt_header)

    @property
    def host(self) -> str:
        """Host name or address of the base URL (no brackets for IPv6)."""
        return urlsplit(self.base_url).hostname or ""

    @property
    def is_loopback(self) -> bool:
        """True when ICE must gather only 127.0.0.1 (see ``harness.ice``)."""
        return is_loopback_host(self.host)

    @property
    def calls_url(self) -> str:
        return f"{self.base_url}/realtime/calls"

    @property
    def client_secrets_url(self) -> str:
        return f"{self.base_url}/realtime/client_secrets"

    def attempt(self, headers: Iterable[tuple[str, str]], number: int) -> dict[str, str]:
        """``headers`` plus the attempt number, when this target asks for it."""
        numbered = dict(headers)
        if self.attempt_header is not None:
            numbered[self.attempt_header] = str(number)
        return numbered

    def hangup_url(self, call_id: str) -> str:
        return f"{self.base_url}/realtime/calls/{call_id}/hangup"

    def __str__(self) -> str:
        return f"{self.base_url} ({self.model})"


def _checked_headers(headers: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """Headers as a hashable tuple; a name that is not a token, reserved, or a value with a line
    break is a one-line error here rather than a malformed or credential-carrying request later."""
    for name, value in headers.items():
        if _TOKEN.fullmatch(name) is None:
            raise TargetError(f"invalid call header name {name!r}: expected an HTTP token like X-Name")
        if name.lower() in _RESERVED_HEADERS:
            raise TargetError(f"call header {name!r} is not allowed: the client sets it (keys: api_key)")
        if any(char in value for char in "\r\n\0"):
            raise TargetError(f"call header {name!r}: the value must be one line")
    return tuple(headers.items())
