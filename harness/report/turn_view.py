"""What the waveform plot of one turn shows: audio envelopes and protocol events on one time axis.

Time zero is the turn's ``turn.start`` milestone. The received WAV starts there (its capture
segment opens with the turn); the sent clip starts at the turn's ``audio.input.start``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile

from harness.protocol import ClientEventType, Milestone, ServerEventType
from harness.timeline import EntryKind, TimelineEntry

MAX_BINS = 1500

# (kind, type) -> short label drawn on the plot; the first of each per turn is drawn.
_M, _S, _R = EntryKind.MILESTONE, EntryKind.SENT, EntryKind.RECEIVED
MARKED: dict[tuple[str, str], str] = {
    (_M, Milestone.INPUT_AUDIO_START): "speech in",
    (_M, Milestone.INPUT_AUDIO_END): "speech end",
    (_R, ServerEventType.INPUT_AUDIO_BUFFER_SPEECH_STARTED): "vad start",
    (_R, ServerEventType.INPUT_AUDIO_BUFFER_SPEECH_STOPPED): "vad stop",
    (_S, ClientEventType.CONVERSATION_ITEM_CREATE): "typed message",
    (_S, ClientEventType.INPUT_AUDIO_BUFFER_COMMIT): "commit",
    (_R, ServerEventType.INPUT_AUDIO_BUFFER_COMMITTED): "committed",
    (_S, ClientEventType.RESPONSE_CREATE): "response.create",
    (_R, ServerEventType.RESPONSE_CREATED): "created",
    (_R, ServerEventType.RESPONSE_OUTPUT_AUDIO_TRANSCRIPT_DELTA): "1st transcript",
    (_R, ServerEventType.OUTPUT_AUDIO_BUFFER_STARTED): "playback start",
    (_M, Milestone.OUTPUT_AUDIO_ONSET): "audio onset",
    (_S, ClientEventType.RESPONSE_CANCEL): "cancel",
    (_R, ServerEventType.OUTPUT_AUDIO_BUFFER_CLEARED): "cleared",
    (_R, ServerEventType.RESPONSE_DONE): "response.done",
    (_R, ServerEventType.OUTPUT_AUDIO_BUFFER_STOPPED): "playback stop",
    (_R, ServerEventType.INPUT_TRANSCRIPTION_COMPLETED): "transcribed",
    (_R, ServerEventType.ERROR): "error",
}


@dataclass(frozen=True, slots=True)
class Envelope:
    """Min and max of the samples in each time bin (what a waveform shows at screen resolution)."""

    t: npt.NDArray[np.float64]
    low: npt.NDArray[np.float64]
    high: npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Marker:
    t: float
    label: str
    kind: str  # sent | received | milestone


def envelope(path: Path | None, start_s: float, bins: int = MAX_BINS) -> Envelope | None:
    """The WAV's envelope placed at ``start_s`` on the turn's axis; None if missing or empty."""
    if path is None or not path.is_file():
        return None
    try:
        samples, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (OSError, RuntimeError, soundfile.LibsndfileError):
        return None
    mono = samples.mean(axis=1)
    if mono.size == 0:
        return None
    per_bin = max(1, int(np.ceil(mono.size / bins)))
    padded = np.pad(mono, (0, (-mono.size) % per_bin))
    frames = padded.reshape(-1, per_bin)
    t = start_s + np.arange(frames.shape[0]) * per_bin / rate
    return Envelope(
        t.astype(np.float64), frames.min(axis=1).astype(np.float64), frames.max(axis=1).astype(np.float64)
    )


def markers(entries: list[TimelineEntry], start: float, end: float) -> list[Marker]:
    """The first of each marked event between the turn's start and end, in seconds from its start.

    By time rather than by turn tag: what the plot shows is what happened while the turn ran.
    """
    seen: set[tuple[str, str]] = set()
    found: list[Marker] = []
    for entry in entries:
        key = (str(entry.kind), entry.type)
        if key not in MARKED or key in seen or not start <= entry.t <= end:
            continue
        seen.add(key)
        found.append(Marker(round(entry.t - start, 4), MARKED[key], key[0]))
    return sorted(found, key=lambda m: m.t)


def input_start(entries: list[TimelineEntry], turn: int, start: float) -> float:
    """Seconds from the turn's start to its first sent audio frame (0 if not recorded)."""
    for entry in entries:
        if entry.turn == turn and entry.type == Milestone.INPUT_AUDIO_START:
            return entry.t - start
    return 0.0
