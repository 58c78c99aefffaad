"""Audio level arithmetic in one place: frame dBFS for onset detection and aiortc's RTP audio level.

``aiortc.rtp.compute_audio_level_dbov`` (RFC 6465 level for the RTP header extension) is a
pure-Python loop over every sample, ~116 us per frame: the top per-frame CPU cost of sending audio.
:func:`install_fast_audio_level` swaps it, process-wide and once, for :func:`audio_level_dbov`, a
numpy version with identical results (checked against the original in tests/client). Swapping
the module attribute is safe because ``RTCRtpSender`` looks ``rtp.compute_audio_level_dbov`` up at
each call; it also speeds up an in-process stand-in server, which is harmless (same numbers).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

FULL_SCALE = 32768.0
FLOOR_DBFS = -120.0  # what digital silence reports (JSON has no -inf)

_MAX_SAMPLE_VALUE = 32767
_MIN_AUDIO_LEVEL = -127
_original: Any = None  # aiortc's own function, kept for comparison in tests


def _sum_of_squares(samples: npt.NDArray[np.int16]) -> float:
    """Exact sum of squares in int64. Deliberately not ``np.dot`` on floats: that goes to BLAS,
    whose (OpenBLAS) worker threads then busy-wait, burning most of a core when called every 20 ms."""
    wide = samples.astype(np.int64)
    return float(np.multiply(wide, wide).sum())


def rms_dbfs(samples: npt.NDArray[np.int16]) -> float:
    """RMS level of int16 samples in dBFS (full-scale sine = -3 dB), floored at :data:`FLOOR_DBFS`."""
    if samples.size == 0:
        return FLOOR_DBFS
    rms = math.sqrt(_sum_of_squares(samples) / samples.size)
    if rms <= 0.0:
        return FLOOR_DBFS
    return max(FLOOR_DBFS, 20.0 * math.log10(rms / FULL_SCALE))


def peak_dbfs(peak: int) -> float:
    """Peak absolute sample value in dBFS, floored at :data:`FLOOR_DBFS`."""
    if peak <= 0:
        return FLOOR_DBFS
    return max(FLOOR_DBFS, 20.0 * math.log10(peak / FULL_SCALE))


def audio_level_dbov(frame: Any) -> int:
    """Numpy twin of ``aiortc.rtp.compute_audio_level_dbov`` (RFC 6465 appendix A), same rounding.

    Like the original it sums every int16 value of plane 0 (all channels when packed) and divides
    by ``frame.samples`` (per-channel count).
    """
    values = np.frombuffer(bytes(frame.planes[0]), dtype=np.int16)
    rms = math.sqrt(_sum_of_squares(values) / (frame.samples * _MAX_SAMPLE_VALUE * _MAX_SAMPLE_VALUE))
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
