"""What to connect to: the API base URL, the key and the model, plus how the call is set up.

The key is held as a pydantic ``SecretStr`` so that ``repr``/``str`` of a Target (and of anything
that embeds one, such as a logged config) shows ``**********``; only the HTTP layer reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from pydantic import SecretStr

from harness.errors import TargetError
from harness.ice import is_loopback_host
from harness.protocol import DEFAULT_MODEL


class ConnectMode(StrEnum):
    """How the SDP offer is authorised (both are documented OpenAI browser flows)."""

    UNIFIED = "unified"  # multipart sdp + session, standard key (the "unified interface")
    EPHEMERAL = "ephemeral"  # mint an ek_ client secret first, then post raw application/sdp with it


@dataclass(frozen=True, slots=True, init=False)
class Target:
    """A Realtime API endpoint, e.g. ``Target("https://api.openai.com/v1", key, "gpt-realtime")``."""

    base_url: str
    api_key: SecretStr
    model: str

    def __init__(self, base_url: str, api_key: str | SecretStr, model: str = DEFAULT_MODEL) -> None:
        url = base_url.strip().rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise TargetError(
                f"invalid target base URL {url!r}: expected http(s)://host[:port]/v1, "
                "e.g. https://api.openai.com/v1"
            )
        # An empty key is allowed on purpose: the target, not the client, decides (401).
        key = api_key if isinstance(api_key, SecretStr) else SecretStr(api_key)
        object.__setattr__(self, "base_url", url)
        object.__setattr__(self, "api_key", key)
        object.__setattr__(self, "model", model)

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

    def hangup_url(self, call_id: str) -> str:
        return f"{self.base_url}/realtime/calls/{call_id}/hangup"

    def __str__(self) -> str:
        return f"{self.base_url} ({self.model})"
