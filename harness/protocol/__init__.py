"""Protocol constants and schema helpers shared by the client and the stand-in server.

This package is the only code the two sides share: event type names, the audio clock, the
schema check against the installed ``openai`` package's realtime types, and the stand-in's one
wire extension (the per-call persona header, :mod:`harness.protocol.standin`).
"""

from harness.protocol.audio import (
    FRAME_DURATION_S,
    FRAME_SAMPLES,
    SAMPLE_RATE,
)
from harness.protocol.events import ClientEventType, ServerEventType, parse_server_event
from harness.protocol.standin import PERSONA_HEADER, decode_persona, encode_persona

__all__ = [
    "FRAME_DURATION_S",
    "FRAME_SAMPLES",
    "PERSONA_HEADER",
    "SAMPLE_RATE",
    "ClientEventType",
    "ServerEventType",
    "decode_persona",
    "encode_persona",
    "parse_server_event",
]
