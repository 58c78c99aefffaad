"""Pure functions from a session timeline and audio to WER and latency figures (no I/O but WAV reads).

The metric names (:class:`TurnMetric`, :class:`ConnectMetric`) live in :mod:`harness.protocol`.
"""

from harness.metrics.audio import (
    DBFS_FLOOR,
    FRAME_MS,
    SILENCE_DBFS,
    active_duration_s,
    frame_dbfs,
    frame_levels,
    is_silent,
    peak_dbfs,
    speech_end_s,
    speech_segments,
)
from harness.metrics.latency import (
    ROLE_BARGE_IN,
    ROLE_TURN,
    SPEECH_END_KEY,
    SessionLatency,
    TurnLatency,
    connect_latency,
    session_latency,
    turn_latencies,
)
from harness.metrics.recognise import recognise
from harness.metrics.stats import LatencyStats, summarise
from harness.metrics.text import contains_phrase, matches_regex
from harness.metrics.wer import (
    PooledWer,
    WerScore,
    WordOp,
    pooled_wer,
    raw_normalise,
    score_wer,
    whisper_normalise,
)
from harness.protocol import ConnectMetric, TurnMetric

__all__ = [
    "DBFS_FLOOR",
    "FRAME_MS",
    "ROLE_BARGE_IN",
    "ROLE_TURN",
    "SILENCE_DBFS",
    "SPEECH_END_KEY",
    "ConnectMetric",
    "LatencyStats",
    "PooledWer",
    "SessionLatency",
    "TurnLatency",
    "TurnMetric",
    "WerScore",
    "WordOp",
    "active_duration_s",
    "connect_latency",
    "contains_phrase",
    "frame_dbfs",
    "frame_levels",
    "is_silent",
    "matches_regex",
    "peak_dbfs",
    "pooled_wer",
    "raw_normalise",
    "recognise",
    "score_wer",
    "session_latency",
    "speech_end_s",
    "speech_segments",
    "summarise",
    "turn_latencies",
    "whisper_normalise",
]
