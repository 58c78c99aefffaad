"""Object ids in the API's shape: a type prefix plus random alphanumerics (``event_C9G5RJeJ2gF77mV7f2B1j``).

Clients match on prefixes (``rtc_`` in the Location header, ``resp_`` in events) and some log them,
so ids look like the real ones and never reuse a value within a process.
"""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits
_LENGTH = 22


def random_alphanumerics(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_id(prefix: str) -> str:
    """``prefix`` + ``_`` + 22 random alphanumerics, e.g. ``new_id("item")`` -> ``item_...``."""
    return prefix + "_" + random_alphanumerics(_LENGTH)
