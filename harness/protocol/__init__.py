"""Names and constants that several packages share, each defined once.

The only code the client and the stand-in server share: event type names, the audio clock and frame
levels, the schema check against the installed ``openai`` package's realtime types, the default
model, and the stand-in's one wire extension (the per-call persona header,
:mod:`harness.protocol.standin`). Also the names the timeline's writers and readers agree on:
milestones and latency metric names. And one aiortc quirk both ends handle alike
(:mod:`harness.protocol.sctp_teardown`). A leaf package: it imports nothing from the harness.
"""

from harness.protocol.clock import (
    FRAME_DURATION_S,
    FRAME_SAMPLES,
    SAMPLE_RATE,
)
from harness.protocol.defaults import DEFAULT_MODEL
from harness.protocol.events import ClientEventType, ServerEventType, parse_server_event
from harness.protocol.metrics import ConnectMetric, TurnMetric
from harness.protocol.milestones import Milestone
from harness.protocol.standin import PERSONA_HEADER, decode_persona, encode_persona

__all__ = [
    "DEFAULT_MODEL",
    "FRAME_DURATION_S",
    "FRAME_SAMPLES",
    "PERSONA_HEADER",
    "SAMPLE_RATE",
    "ClientEventType",
    "ConnectMetric",
    "Milestone",
    "ServerEventType",
    "TurnMetric",
    "decode_persona",
    "encode_persona",
    "parse_server_event",
]
