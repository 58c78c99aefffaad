"""Exception hierarchy (httpx-style): every error the harness raises on purpose is a HarnessError.

Messages are one line, name the file/field/option/endpoint at fault and the fix, and never carry
secrets. The CLI prints ``str(error)`` and exits 2 for a :class:`UsageError` (bad usage or input,
found before or without running anything) and 1 for any other HarnessError (a run that failed).

This module imports nothing from the harness: every package, the stand-in server included, may
raise these.
"""

from __future__ import annotations


class HarnessError(Exception):
    """Base of every error the harness raises on purpose."""


class UsageError(HarnessError):
    """Bad usage or input: a CLI option, a file the user passed, the environment (exit code 2)."""


class ScenarioError(UsageError):
    """A scenario or suite file is invalid.

    ``problems`` lists every problem found, one line each (``rth validate`` prints them all).
    """

    def __init__(self, message: str, *, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


class TargetError(UsageError):
    """The target cannot be used as given: a base URL that is not one, or no API key for it."""


class ConnectError(HarnessError):
    """The WebRTC call could not be set up (HTTP SDP exchange, ICE/DTLS or the data channel)."""


class HttpStatusError(ConnectError):
    """The target answered a session-creating request with an HTTP error status.

    ``retry_after_s`` is its ``Retry-After`` header (None without one); ``retries`` how many times
    the client had retried when it gave up. 429 and 5xx are worth retrying (:attr:`retryable`).
    """

    def __init__(
        self, message: str, *, status: int, retry_after_s: float | None = None, retries: int = 0
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after_s = retry_after_s
        self.retries = retries

    @property
    def retryable(self) -> bool:
        return self.status == 429 or self.status >= 500


class AuthenticationError(HttpStatusError):
    """The target refused the API key (HTTP 401/403; an empty key is refused before sending)."""

    def __init__(self, message: str, *, status: int = 401, retries: int = 0) -> None:
        super().__init__(message, status=status, retries=retries)


class ConnectionLost(ConnectError):
    """A connected call went away: its peer connection or data channel closed or failed."""


class ProtocolError(HarnessError):
    """The peer broke the Realtime protocol (bad JSON, an unexpected event or ordering)."""


class ServerEventTimeout(HarnessError):
    """An awaited server event did not arrive in time."""
