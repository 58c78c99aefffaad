"""Pure functions from a session timeline and audio to WER and latency figures (no I/O but WAV reads)."""

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
    SPEECH_END_KEY,
    ConnectMetric,
    SessionLatency,
    TurnLatency,
    TurnMetric,
    connect_latency,
    session_latency,
    turn_latencies,
)
from harness.metrics.stats import LatencyStats, summarise
from harness.metrics.wer import (
    PooledWer,
    WerScore,
    WordOp,
    pooled_wer,
    raw_normalise,
    score_wer,
    whisper_normalise,
)

__all__ = [
    "DBFS_FLOOR",
    "FRAME_MS",
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
    "frame_dbfs",
    "frame_levels",
    "is_silent",
    "peak_dbfs",
    "pooled_wer",
    "raw_normalise",
    "score_wer",
    "session_latency",
    "speech_end_s",
    "speech_segments",
    "summarise",
    "turn_latencies",
    "whisper_normalise",
]
