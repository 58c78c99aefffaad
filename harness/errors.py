"""Exception hierarchy (httpx-style): every error the harness raises on purpose is a HarnessError.

Messages are one line, name the file/field/endpoint at fault and the fix, and never carry secrets:
the CLI prints ``str(error)`` and exits 2 (bad input) or 1 (a run that failed).
"""

from __future__ import annotations


class HarnessError(Exception):
    """Base of every error the harness raises on purpose."""


class ScenarioError(HarnessError):
    """A scenario file or a CLI argument is invalid (exit code 2).

    ``problems`` lists every problem found, one line each (``rth validate`` prints them all).
    """

    def __init__(self, message: str, *, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


class ConnectError(HarnessError):
    """The WebRTC call could not be set up (HTTP SDP exchange, ICE/DTLS or the data channel)."""


class AuthenticationError(ConnectError):
    """The target refused the API key (HTTP 401/403)."""


class ProtocolError(HarnessError):
    """The peer broke the Realtime protocol (bad JSON, an unexpected event or ordering)."""


class ServerEventTimeout(HarnessError):
    """An awaited server event did not arrive in time."""
