"""The WebRTC audio clock: Opus runs at 48 kHz and both sides exchange 20 ms frames.

Kept apart from :mod:`harness.protocol.audio` (frame levels, numpy) so that importing the protocol
names stays cheap for the CLI and the pytest plugin.
"""

from __future__ import annotations

SAMPLE_RATE = 48_000
FRAME_DURATION_S = 0.020
FRAME_SAMPLES = 960  # SAMPLE_RATE * FRAME_DURATION_S
