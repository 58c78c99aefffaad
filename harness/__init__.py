"""realtime-harness: test and load-test speech-to-speech Realtime APIs over WebRTC."""

from harness.errors import (
    AuthenticationError,
    ConnectError,
    HarnessError,
    ProtocolError,
    ScenarioError,
    ServerEventTimeout,
    TargetError,
    UsageError,
)

__version__ = "0.1.0"

__all__ = [
    "AuthenticationError",
    "ConnectError",
    "HarnessError",
    "ProtocolError",
    "ScenarioError",
    "ServerEventTimeout",
    "TargetError",
    "UsageError",
    "__version__",
]
