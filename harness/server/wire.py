"""What clients send, decoded strictly: UTF-8 text, JSON of bounded depth, multipart form fields.

Request bodies and data-channel messages come from whoever reaches the port, so a body that cannot
be decoded is the client's error (the API's 400, or an ``error`` event), never the server's (500).
JSON nesting is bounded (:data:`MAX_JSON_DEPTH`): the decoder, pydantic and the encoder of the echo
all recurse. ``NaN``, ``Infinity`` and numbers that overflow a float are refused: they are not JSON,
and a browser could not parse the event that echoes them.
"""

from __future__ import annotations

import json
import math
from email import errors as email_errors
from email.message import Message
from email.parser import BytesParser
from typing import Any

from harness.server.errors import ApiError

MAX_JSON_DEPTH = 64
INVALID_JSON = "invalid_json"
# Defects of the stdlib MIME parser that mean the body is not a complete multipart message.
_BROKEN_MULTIPART = (
    email_errors.NoBoundaryInMultipartDefect,
    email_errors.StartBoundaryNotFoundDefect,
    email_errors.CloseBoundaryNotFoundDefect,
    email_errors.MultipartInvariantViolationDefect,
)


def utf8(data: bytes, error: ApiError) -> str:
    """``data`` as text, or ``error`` when it is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise error from None


def loads(text: str | bytes, what: str) -> Any:
    """Parse JSON text; ``what`` names it in the ``invalid_json`` error ("The request body", ...)."""
    if isinstance(text, bytes):
        text = utf8(text, ApiError(f"{what} is not UTF-8 text.", code=INVALID_JSON))
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except RecursionError:
        raise _too_deep(what) from None
    except ValueError as exc:  # JSONDecodeError, NaN/Infinity, integers too long to convert
        problem = " ".join(str(exc).split())
        raise ApiError(f"{what} is not valid JSON: {problem}.", code=INVALID_JSON) from None
    if _deeper_than(value, MAX_JSON_DEPTH):
        raise _too_deep(what)
    return value


def form_fields(content_type: str, body: bytes, names: tuple[str, ...]) -> dict[str, bytes]:
    """The ``names`` fields of a ``multipart/form-data`` body (first of each), as raw bytes.

    The stdlib MIME parser (RFC 2046) splits the body: it never raises on bad input but notes
    defects, so a body without its boundaries, or cut short, is refused here as a 400.
    """
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("utf-8", "surrogateescape")
    message = BytesParser().parsebytes(head + body)
    if not message.is_multipart() or any(isinstance(d, _BROKEN_MULTIPART) for d in message.defects):
        raise ApiError(
            "The multipart/form-data body is malformed or incomplete (boundary missing, or the body "
            "cut short). Send the 'sdp' part, and optionally 'session', as multipart/form-data.",
            code="invalid_multipart",
        )
    fields: dict[str, bytes] = {}
    for part in message.get_payload():
        if not isinstance(part, Message):
            continue
        name = _field_name(part)
        if name in names and name not in fields:
            payload = part.get_payload(decode=True)
            fields[name] = payload if isinstance(payload, bytes) else b""
    return fields


def _field_name(part: Message) -> str | None:
    name = part.get_param("name", header="content-disposition")
    return name if isinstance(name, str) else None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is out of range")
    return value


def _too_deep(what: str) -> ApiError:
    return ApiError(f"{what} nests JSON deeper than {MAX_JSON_DEPTH} levels.", code=INVALID_JSON)


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than ``limit`` levels (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False
