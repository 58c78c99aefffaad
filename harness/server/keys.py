"""API keys: the configured standard key and the ephemeral ``ek_`` keys this server mints.

An ephemeral key carries the session config it was minted with and works until ``expires_at``
(any number of calls, as the API documents). It is a signed token, not an entry in a table:
``ek_`` + base64url(zlib(JSON {expiry, session, nonce})) + ``.`` + base64url(HMAC-SHA256), under a
secret of the server's. So every process of a ``--workers`` server, which share that secret,
accepts the keys any of them minted, and nothing is stored per key. Keys are compared in
constant time and never appear in logs or error messages.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from harness.server.errors import ApiError

EPHEMERAL_PREFIX = "ek_"
MIN_TTL_SECONDS = 10
MAX_TTL_SECONDS = 7200
DEFAULT_TTL_SECONDS = 600
SECRET_BYTES = 32

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


def new_key_secret() -> bytes:
    """A fresh signing secret (one per server; a ``--workers`` parent hands its own to each worker)."""
    return secrets.token_bytes(SECRET_BYTES)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _raw(text: str) -> bytes:
    """A header's text back as the bytes that came in (aiohttp maps bytes that are not UTF-8 to
    surrogates, which a plain encode refuses)."""
    return text.encode("utf-8", "surrogateescape")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class KeyStore:
    """Checks Bearer keys; ``api_key=None`` accepts any non-empty non-``ek_`` key as standard.

    ``secret`` signs the ephemeral keys (a fresh one by default: keys of an earlier run fail).
    """

    def __init__(self, api_key: str | None, clock: Callable[[], float], secret: bytes | None = None) -> None:
        self._api_key = api_key
        self._clock = clock
        self._secret = secret if secret is not None else new_key_secret()

    def mint(self, session: dict[str, Any], ttl_seconds: int) -> EphemeralKey:
        """A new ``ek_`` key valid for ``ttl_seconds`` from now, bound to ``session``."""
        expires_at = int(self._clock()) + ttl_seconds
        claims = {"exp": expires_at, "session": session, "nonce": secrets.token_hex(8)}
        body = _b64(zlib.compress(json.dumps(claims, separators=(",", ":")).encode("utf-8")))
        value = f"{EPHEMERAL_PREFIX}{body}.{self._sign(body)}"
        return EphemeralKey(value=value, expires_at=expires_at, session=session)

    def authenticate(self, authorization: str | None) -> Principal:
        """Resolve an ``Authorization`` header or raise the API's 401 (``invalid_api_key``)."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise _unauthorized(_MISSING_KEY)
        if token.startswith(EPHEMERAL_PREFIX):
            return self._ephemeral_principal(token)
        if self._api_key is None or hmac.compare_digest(_raw(token), _raw(self._api_key)):
            return Principal(KeyKind.STANDARD)
        raise _unauthorized(_WRONG_KEY)

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._secret, _raw(body), hashlib.sha256).digest())

    def _ephemeral_principal(self, token: str) -> Principal:
        body, _, signature = token[len(EPHEMERAL_PREFIX) :].rpartition(".")
        expected = self._sign(body).encode("ascii")
        if not body or not hmac.compare_digest(_raw(signature), expected):
            raise _unauthorized(_WRONG_KEY)
        try:
            claims = json.loads(zlib.decompress(_unb64(body)))
            expires_at, session = int(claims["exp"]), claims["session"]
        except (ValueError, KeyError, TypeError, binascii.Error, zlib.error):
            raise _unauthorized(_WRONG_KEY) from None  # signed here, so never expected
        if self._clock() >= expires_at:
            raise _unauthorized(_EXPIRED_KEY)
        return Principal(KeyKind.EPHEMERAL, session=session)
