"""Wire extensions only our stand-in speaks: the per-call persona and faults headers, the attempt
header, the worker header.

A scenario's persona (reply rules, see ``harness/server/persona.py``) travels with the call, so
calls running at the same time on one stand-in each get their own::

    POST {base}/realtime/calls
    X-Rth-Persona: <base64url of the persona file's UTF-8 text, without '=' padding>

base64url (RFC 4648 section 5) because a header value must be one line of visible ASCII and YAML
is neither; '=' padding is optional on the way in. The text is at most :data:`MAX_PERSONA_BYTES`
(the encoded value then fits the stand-in's header size limit, :data:`MAX_HEADER_CHARS`). The
header is sent only to our stand-in (the runner decides, see ``harness/runner/targets.py``); a
call without it gets the server's default persona (``rth serve --persona``).

A scenario's faults (:mod:`harness.protocol.faults`) travel the same way, as the JSON list of
its fault entries in ``X-Rth-Faults`` (:data:`FAULTS_HEADER`), on the requests that create its
session (``POST /realtime/client_secrets`` and ``POST /realtime/calls``). The client numbers the
attempts of a retried request in ``X-Rth-Attempt`` (:data:`ATTEMPT_HEADER`: 1, 2, ...), so a
fault that answers only the first ``times`` attempts needs no state on the server.

A stand-in started with ``--workers N`` names the process that answered each HTTP request in a
response header, ``X-Rth-Worker: <pid>`` (:data:`WORKER_HEADER`), so a load test can see how its
calls spread. The live API never sends it.

Client and server share this module (they share only ``harness.protocol``), so both sides agree
on the name and the encoding.
"""

from __future__ import annotations

import base64
import re

PERSONA_HEADER = "X-Rth-Persona"
FAULTS_HEADER = "X-Rth-Faults"
ATTEMPT_HEADER = "X-Rth-Attempt"
WORKER_HEADER = "X-Rth-Worker"
MAX_PERSONA_BYTES = 48 * 1024
MAX_HEADER_CHARS = 64 * 1024  # base64 of MAX_PERSONA_BYTES: 4 characters per 3 bytes
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


def encode_persona(text: str) -> str:
    """The header value for a persona file's text; ValueError when the text is too large."""
    return encode_header_text(text, "persona")


def decode_persona(value: str) -> str:
    """The persona text in a header value; ValueError saying what is wrong with it."""
    return decode_header_text(value)


def encode_header_text(text: str, what: str) -> str:
    """Text as a header value (base64url, no padding); ValueError naming ``what`` when too large."""
    raw = text.encode("utf-8")
    if len(raw) > MAX_PERSONA_BYTES:
        raise ValueError(f"{what} is {len(raw)} bytes, more than a call header carries ({MAX_PERSONA_BYTES})")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_header_text(value: str) -> str:
    """The text in a base64url header value; ValueError saying what is wrong with it."""
    value = value.strip()
    if not value:
        raise ValueError("empty value")
    if len(value) > MAX_HEADER_CHARS:
        raise ValueError(f"longer than {MAX_HEADER_CHARS} characters")
    body = value.rstrip("=")
    if len(value) - len(body) > 2 or _BASE64URL.fullmatch(body) is None:
        raise ValueError("not base64url (letters, digits, '-' and '_', optional '=' padding)")
    if len(body) % 4 == 1:
        raise ValueError("not base64url (truncated: no encoding is 4n+1 characters long)")
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"the decoded bytes are not UTF-8 text (byte {exc.start})") from None
