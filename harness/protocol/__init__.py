"""Protocol constants and schema helpers shared by the client and the stand-in server.

This package is the only code the two sides share: event type names, the audio clock and the
schema check against the installed ``openai`` package's realtime types.
"""

from harness.protocol.audio import (
    FRAME_DURATION_S,
    FRAME_SAMPLES,
    SAMPLE_RATE,
)
from harness.protocol.events import ClientEventType, ServerEventType, parse_server_event

__all__ = [
    "FRAME_DURATION_S",
    "FRAME_SAMPLES",
    "SAMPLE_RATE",
    "ClientEventType",
    "ServerEventType",
    "parse_server_event",
]
