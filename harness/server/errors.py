"""The API's error shape, shared by the HTTP endpoints and the data-channel ``error`` event.

Real clients parse ``{"error": {"message", "type", "param", "code"}}`` with all four keys present
(nullable), so every failure of the stand-in is raised as :class:`ApiError` and rendered in one place.
Messages never carry keys or secrets, and stay one line of bounded length whatever a client sent
(values it sent are echoed through :func:`shown`).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from harness.errors import HarnessError

MAX_MESSAGE_CHARS = 1024
MAX_PARAM_CHARS = 256
SHOWN_CHARS = 64


class ApiError(HarnessError):
    """A request the API refuses: HTTP status plus the error object's fields."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None,
        status: int = 400,
        param: str | None = None,
        type: str = "invalid_request_error",
        headers: dict[str, str] | None = None,
    ) -> None:
        message = one_line(message, MAX_MESSAGE_CHARS)
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.param = None if param is None else _clip(param, MAX_PARAM_CHARS)
        self.type = type
        self.headers = headers or {}  # extra HTTP headers of the answer (Retry-After)

    def error_object(self) -> dict[str, Any]:
        """The inner ``error`` object of an HTTP error body."""
        return {"message": self.message, "type": self.type, "param": self.param, "code": self.code}

    def http_body(self) -> dict[str, Any]:
        return {"error": self.error_object()}


def shown(value: Any) -> str:
    """A value a client sent, quoted for an error message: one line, cut after a few words."""
    return f"'{one_line(value if isinstance(value, str) else repr(value), SHOWN_CHARS)}'"


def one_line(text: str, limit: int) -> str:
    """``text`` on one line, cut to ``limit`` characters."""
    return _clip(" ".join(text.split()), limit)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def invalid_value(param: str, message: str) -> ApiError:
    """The API's error for a field with a wrong value (``code: invalid_value``, ``param`` names it)."""
    return ApiError(message, code="invalid_value", param=param)


def schema_error(exc: ValidationError, *prefix: str) -> ApiError:
    """``invalid_value`` for the first error of a pydantic check, ``param`` = ``prefix`` + its location."""
    first = exc.errors()[0]
    where = ".".join([*prefix, *(str(part) for part in first["loc"])])
    return invalid_value(where, f"Invalid value for '{where}': {first['msg']}.")
