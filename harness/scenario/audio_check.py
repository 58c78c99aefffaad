"""What ``rth validate`` checks of a turn's audio file, so that a clip it accepts is one a run can send.

The run decodes a clip with libsndfile (``soundfile``), averages its channels and resamples it to
48 kHz (:func:`harness.client.audio_source.load_wav`). Reading the header is enough to know that
will work and what it will cost: random bytes, a clip shorter than one frame, a header claiming a
1 Hz rate or a thousand channels (a small file that decodes to gigabytes), or an ``offset_ms`` past
the end are refused here, on the line that names the file, instead of failing or stalling in the middle of a
run. A property test feeds both this check and the run's decoding random files and holds them to
the same verdict.
"""

from __future__ import annotations

from pathlib import Path

import soundfile

from harness.protocol import FRAME_DURATION_S
from harness.scenario._base import HOUR_MS
from harness.scenario.actions import AudioClip

RATES = (8_000, 192_000)  # Hz: telephone to studio; the API's own input is 24 kHz
MAX_CHANNELS = 8
FRAME_MS = round(FRAME_DURATION_S * 1000)  # what is sent is whole 20 ms frames


def audio_problem(path: Path, clip: AudioClip) -> str | None:
    """Why the clip at ``path`` (trimmed as ``clip`` says) cannot be sent, with the fix; or None."""
    try:
        info = soundfile.info(str(path))
    except (RuntimeError, OSError) as exc:  # libsndfile's errors are RuntimeErrors
        reason = str(exc).rpartition(": ")[2].rstrip(".") or type(exc).__name__
        return f"not a readable audio file ({reason}); pass a WAV file"
    if not RATES[0] <= info.samplerate <= RATES[1]:
        return f"sample rate {info.samplerate} Hz is outside {RATES[0]}..{RATES[1]} Hz; resample the file"
    if not 1 <= info.channels <= MAX_CHANNELS:
        return f"{info.channels} channels (at most {MAX_CHANNELS}); mix the file down to mono"
    if info.frames <= 0:
        return "the file holds no audio; record some, or use `say` for a typed turn"
    length_ms = info.frames * 1000 / info.samplerate
    if length_ms > HOUR_MS:
        return f"{length_ms / 60_000:.0f} minutes of audio (at most an hour); cut the file"
    sent_ms = min(length_ms - clip.offset_ms, clip.duration_ms or HOUR_MS)
    if sent_ms < FRAME_MS:
        if clip.offset_ms and clip.offset_ms + FRAME_MS > length_ms:
            return (
                f"offset_ms {clip.offset_ms} leaves less than one {FRAME_MS} ms frame of the "
                f"{length_ms:.0f} ms clip; use a smaller offset"
            )
        return f"{sent_ms:.1f} ms of audio is less than one {FRAME_MS} ms frame; send a longer clip"
    return None
