"""Frame levels (dBFS) of int16 audio; the clock they run on is :mod:`harness.protocol.clock`.

The level arithmetic lives here because the client (onset detection) and the stand-in (its VAD's
energy gate) must measure a frame the same way, and run it on every 20 ms frame.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FULL_SCALE = 32768.0
FLOOR_DBFS = -120.0  # what digital silence reports (JSON has no -inf)


def sum_of_squares(samples: npt.NDArray[np.int16]) -> float:
    """Exact sum of squares in int64. Deliberately not ``np.dot`` on floats: that goes to BLAS,
    whose (OpenBLAS) worker threads then busy-wait, burning most of a core when called every 20 ms."""
    wide = samples.astype(np.int64)
    return float(np.multiply(wide, wide).sum())


def rms_dbfs(samples: npt.NDArray[np.int16]) -> float:
    """RMS level of int16 samples in dBFS (full-scale sine = -3 dB), floored at :data:`FLOOR_DBFS`."""
    if samples.size == 0:
        return FLOOR_DBFS
    rms = math.sqrt(sum_of_squares(samples) / samples.size)
    if rms <= 0.0:
        return FLOOR_DBFS
    return max(FLOOR_DBFS, 20.0 * math.log10(rms / FULL_SCALE))


def peak_dbfs(peak: int) -> float:
    """Peak absolute sample value in dBFS, floored at :data:`FLOOR_DBFS`."""
    if peak <= 0:
        return FLOOR_DBFS
    return max(FLOOR_DBFS, 20.0 * math.log10(peak / FULL_SCALE))
