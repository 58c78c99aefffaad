"""Latency metric names: the keys of report.json and the names scenario files bound.

:mod:`harness.metrics.latency` computes them, scenario ``expect.latency`` validates against them and
reports print them; definitions are in ``docs/metrics.md``.
"""

from __future__ import annotations

from enum import StrEnum


class ConnectMetric(StrEnum):
    """Connect phases of one session."""

    CLIENT_SECRET = "connect_client_secret_ms"
    SDP_EXCHANGE = "connect_sdp_exchange_ms"
    ICE = "connect_ice_ms"
    PEER = "connect_peer_ms"
    CHANNEL_OPEN = "connect_channel_open_ms"
    SESSION_CREATED = "connect_session_created_ms"
    SESSION_READY = "connect_session_ready_ms"
    TOTAL = "connect_total_ms"


class TurnMetric(StrEnum):
    """Per-turn latencies."""

    COMMIT_TO_COMMITTED = "commit_to_committed_ms"
    COMMIT_TO_TRANSCRIPT = "commit_to_transcript_ms"
    RESPONSE_CREATED = "response_created_ms"
    FIRST_TRANSCRIPT_DELTA = "first_transcript_delta_ms"
    AUDIO_STARTED = "audio_started_ms"
    FIRST_AUDIO = "first_audio_ms"
    RESPONSE_DONE = "response_done_ms"
    AUDIO_STOPPED = "audio_stopped_ms"
    CANCEL_TO_SILENCE = "cancel_to_silence_ms"
    BARGE_IN_TO_SILENCE = "barge_in_to_silence_ms"
    VOICE_TO_VOICE = "voice_to_voice_ms"
