"""Per-frame cost of the RFC 6465 audio level: aiortc's pure-Python loop vs harness.client.levels.

Why: it is computed for every 20 ms frame sent, so it bounds how many sessions one core holds.
Prints microseconds per frame for each and the speed-up ratio, measured in this one run.
Goal: the numpy level is faster than aiortc's (speed-up > 1) for mono and stereo frames.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable

import av
import numpy as np
from aiortc import rtp

from harness.client import levels

FRAMES = 2_000


def make_frame(layout: str) -> av.AudioFrame:
    channels = 2 if layout == "stereo" else 1
    rng = np.random.default_rng(7)
    samples = (rng.standard_normal(960 * channels) * 3000).astype(np.int16).reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(samples, format="s16", layout=layout)
    frame.sample_rate = 48_000
    return frame


def per_frame(level: Callable[[av.AudioFrame], int], frame: av.AudioFrame) -> float:
    """Best of three timings, in seconds per frame."""
    return min(timeit.repeat(lambda: level(frame), number=FRAMES, repeat=3)) / FRAMES


def main() -> None:
    original = levels._original or rtp.compute_audio_level_dbov
    for layout in ("mono", "stereo"):
        frame = make_frame(layout)
        assert original(frame) == levels.audio_level_dbov(frame)
        slow = per_frame(original, frame)
        fast = per_frame(levels.audio_level_dbov, frame)
        print(
            f"{layout:6s}  aiortc {slow * 1e6:7.1f} us/frame   numpy {fast * 1e6:6.1f} us/frame   "
            f"speed-up x{slow / fast:5.1f}   (share of a 20 ms frame: {slow / 0.02:.2%} -> {fast / 0.02:.3%})"
        )
        print(f"        goal: numpy faster than aiortc ({'met' if fast < slow else 'NOT met'})")


if __name__ == "__main__":
    main()
