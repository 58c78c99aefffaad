"""Keys out of aiohttp's server log: its errors quote the raw request line or header they could not parse.

A request whose ``Authorization`` header aiohttp's parser refuses (a control character in it, a
space before the colon) is logged with the header line in the exception, at ERROR, which reaches
stderr by default. The stand-in hands its HTTP servers :data:`SERVER_LOGGER`, whose
:class:`RedactKeys` filter rewrites each record's message and traceback with every bearer token,
``Authorization`` value, ``ek_`` key and ``sk-`` key replaced by ``<redacted>``.
"""

from __future__ import annotations

import logging
import re

REDACTED = "<redacted>"
# A header line's value runs to the end of the line or the end of the quoted bytes aiohttp shows.
_PATTERNS = (
    re.compile(r"(?i)(authorization\s*:\s*)[^\r\n'\"]*"),
    re.compile(r"(?i)(bearer\s+)[^\s'\"\\]+"),
    re.compile(r"()\b(?:ek_|sk-)[^\s'\"\\]+"),
)


def redact(text: str) -> str:
    """``text`` with anything that looks like a key replaced."""
    for pattern in _PATTERNS:
        text = pattern.sub(lambda match: match.group(1) + REDACTED, text)
    return text


class RedactKeys(logging.Filter):
    """Rewrites a record's message and traceback through :func:`redact` (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), None
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


SERVER_LOGGER = logging.getLogger("harness.server.aiohttp")
SERVER_LOGGER.addFilter(RedactKeys())
