"""API keys: the configured standard key and the ephemeral ``ek_`` keys this server mints.

An ephemeral key carries the session config it was minted with and works until ``expires_at``
(any number of calls, as the API documents). Keys are compared in constant time and never
appear in logs or error messages.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from harness.server.errors import ApiError

EPHEMERAL_PREFIX = "ek_"
MIN_TTL_SECONDS = 10
MAX_TTL_SECONDS = 7200
DEFAULT_TTL_SECONDS = 600

_MISSING_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header "
    "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
)
_WRONG_KEY = "Incorrect API key provided. Check the key the stand-in was started with."
_EXPIRED_KEY = "The ephemeral key has expired. Create a new client secret."


class KeyKind(StrEnum):
    STANDARD = "standard"
    EPHEMERAL = "ephemeral"


@dataclass(frozen=True)
class Principal:
    """Who made a request: a standard key, or an ephemeral key and the session it was minted with."""

    kind: KeyKind
    session: dict[str, Any] | None = None


@dataclass(frozen=True)
class EphemeralKey:
    value: str
    expires_at: int
    session: dict[str, Any]


def _unauthorized(message: str) -> ApiError:
    return ApiError(message, code="invalid_api_key", status=401)


class KeyStore:
    """Checks Bearer keys; ``api_key=None`` accepts any non-empty non-``ek_`` key as standard."""

    def __init__(self, api_key: str | None, clock: Callable[[], float]) -> None:
        self._api_key = api_key
        self._clock = clock
        self._ephemeral: dict[str, EphemeralKey] = {}

    def mint(self, session: dict[str, Any], ttl_seconds: int) -> EphemeralKey:
        """A new ``ek_`` key valid for ``ttl_seconds`` from now, bound to ``session``."""
        now = self._clock()
        self._purge(now)
        key = EphemeralKey(
            value=EPHEMERAL_PREFIX + secrets.token_urlsafe(24),
            expires_at=int(now) + ttl_seconds,
            session=session,
        )
        self._ephemeral[key.value] = key
        return key

    def authenticate(self, authorization: str | None) -> Principal:
        """Resolve an ``Authorization`` header or raise the API's 401 (``invalid_api_key``)."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise _unauthorized(_MISSING_KEY)
        if token.startswith(EPHEMERAL_PREFIX):
            return self._ephemeral_principal(token)
        if self._api_key is None or hmac.compare_digest(token.encode(), self._api_key.encode()):
            return Principal(KeyKind.STANDARD)
        raise _unauthorized(_WRONG_KEY)

    def _ephemeral_principal(self, token: str) -> Principal:
        found = self._ephemeral.get(token)  # a hash lookup leaks no prefix timing
        if found is None:
            raise _unauthorized(_WRONG_KEY)
        if self._clock() >= found.expires_at:
            raise _unauthorized(_EXPIRED_KEY)
        return Principal(KeyKind.EPHEMERAL, session=found.session)

    def _purge(self, now: float) -> None:
        for value in [v for v, k in self._ephemeral.items() if now >= k.expires_at]:
            del self._ephemeral[value]
