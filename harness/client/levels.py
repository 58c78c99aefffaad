"""RTP audio level for aiortc's sender, and the frame levels the client shares with the stand-in.

``aiortc.rtp.compute_audio_level_dbov`` (RFC 6465 level for the RTP header extension) is a
pure-Python loop over every sample, ~116 us per frame: the top per-frame CPU cost of sending audio.
:func:`install_fast_audio_level` swaps it, process-wide and once, for :func:`audio_level_dbov`, a
numpy version with identical results (checked against the original in tests/client). Swapping
the module attribute is safe because ``RTCRtpSender`` looks ``rtp.compute_audio_level_dbov`` up at
each call; it also speeds up an in-process stand-in server, which is harmless (same numbers).
Frame dBFS (``rms_dbfs``, ``peak_dbfs``) lives in :mod:`harness.protocol.audio`, re-exported here.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from harness.protocol.audio import FLOOR_DBFS, FULL_SCALE, peak_dbfs, rms_dbfs, sum_of_squares

__all__ = [
    "FLOOR_DBFS",
    "FULL_SCALE",
    "audio_level_dbov",
    "install_fast_audio_level",
    "peak_dbfs",
    "rms_dbfs",
]

_MAX_SAMPLE_VALUE = 32767
_MIN_AUDIO_LEVEL = -127
_original: Any = None  # aiortc's own function, kept for comparison in tests


def audio_level_dbov(frame: Any) -> int:
    """Numpy twin of ``aiortc.rtp.compute_audio_level_dbov`` (RFC 6465 appendix A), same rounding.

    Like the original it sums every int16 value of plane 0 (all channels when packed) and divides
    by ``frame.samples`` (per-channel count).
    """
    values = np.frombuffer(bytes(frame.planes[0]), dtype=np.int16)
    rms = math.sqrt(sum_of_squares(values) / (frame.samples * _MAX_SAMPLE_VALUE * _MAX_SAMPLE_VALUE))
    db = min(max(20 * math.log10(rms), _MIN_AUDIO_LEVEL), 0) if rms > 0 else _MIN_AUDIO_LEVEL
    return round(db)


def install_fast_audio_level() -> None:
    """Replace aiortc's pure-Python audio level with :func:`audio_level_dbov` (idempotent)."""
    global _original
    if _original is not None:
        return
    import aiortc.rtp

    _original = aiortc.rtp.compute_audio_level_dbov
    aiortc.rtp.compute_audio_level_dbov = audio_level_dbov
