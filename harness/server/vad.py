"""Voice activity detection on the caller's audio: 20 ms frames -> speech start/stop on the audio clock.

Frames are classified by WebRTC's VAD (``webrtcvad``, the GMM detector every browser ships) behind
an energy gate: the API's ``threshold`` (0..1, "higher needs louder audio") picks both the
detector's aggressiveness and the minimum frame level, so a quiet hiss never opens a turn.
:class:`Segmenter` turns the per-frame decisions into turns the way the API documents them:
``audio_start_ms`` is the onset minus ``prefix_padding_ms``, ``audio_end_ms`` the last voiced
frame plus ``silence_duration_ms`` (the end of the audio sent to the model).
``semantic_vad`` has no model here: its eagerness maps to a fixed silence duration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import webrtcvad

from harness.protocol.audio import rms_dbfs

VAD_RATE = 16_000
FRAME_MS = 20
FRAME_BYTES = VAD_RATE * FRAME_MS // 1000 * 2
START_FRAMES = 3  # consecutive voiced frames (60 ms) before a turn opens: clicks do not count

# semantic_vad eagerness -> silence that ends the turn. The live API waits for a semantically
# complete utterance with caps of 8/4/2 s (low/medium/high); with no language model, the stand-in
# uses the pause a semantic detector typically settles on after a complete sentence.
SEMANTIC_SILENCE_MS = {"low": 1500, "medium": 800, "auto": 800, "high": 400}


@dataclass(frozen=True)
class VadParams:
    """The resolved ``turn_detection`` settings of a session (API defaults filled in)."""

    type: str
    threshold: float = 0.5
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 500
    idle_timeout_ms: int | None = None
    create_response: bool = True
    interrupt_response: bool = True

    @classmethod
    def from_session(cls, turn_detection: Any) -> VadParams | None:
        """``None`` for manual turns (``turn_detection: null``)."""
        if not isinstance(turn_detection, dict):
            return None
        kind = str(turn_detection.get("type", "server_vad"))
        common = {
            "create_response": _flag(turn_detection.get("create_response"), True),
            "interrupt_response": _flag(turn_detection.get("interrupt_response"), True),
        }
        if kind == "semantic_vad":
            eagerness = str(turn_detection.get("eagerness") or "auto")
            return cls(type=kind, silence_duration_ms=SEMANTIC_SILENCE_MS.get(eagerness, 800), **common)
        return cls(
            type=kind,
            threshold=_number(turn_detection.get("threshold"), 0.5),
            prefix_padding_ms=int(_number(turn_detection.get("prefix_padding_ms"), 300)),
            silence_duration_ms=int(_number(turn_detection.get("silence_duration_ms"), 500)),
            idle_timeout_ms=_optional_int(turn_detection.get("idle_timeout_ms")),
            **common,
        )


def _flag(value: Any, default: bool) -> bool:
    return default if value is None else bool(value)


def _number(value: Any, default: float) -> float:
    return default if value is None else float(value)


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


class FrameClassifier:
    """Speech or not, for one 20 ms frame of 16 kHz mono s16."""

    def __init__(self, threshold: float) -> None:
        threshold = min(max(threshold, 0.0), 1.0)
        self.threshold = threshold
        self._vad = webrtcvad.Vad(min(3, int(threshold * 4)))  # 0..3: how sure "speech" must be
        self.floor_dbfs = -65.0 + 40.0 * threshold  # 0.5 -> -45 dBFS RMS

    def is_speech(self, frame: bytes) -> bool:
        if rms_dbfs(np.frombuffer(frame, dtype=np.int16)) < self.floor_dbfs:
            return False
        return bool(self._vad.is_speech(frame, VAD_RATE))


@dataclass(frozen=True)
class SpeechStarted:
    audio_start_ms: int
    onset_ms: int


@dataclass(frozen=True)
class SpeechStopped:
    audio_end_ms: int
    offset_ms: int


class Segmenter:
    """Per-frame decisions -> speech started/stopped, on the call's audio clock (ms since its start).

    ``floor_ms`` is where the input buffer begins (a turn cannot reach back before a commit or
    clear).
    """

    def __init__(self, params: VadParams) -> None:
        self.params = params
        self.classifier = FrameClassifier(params.threshold)
        self.in_speech = False
        self._run_start: int | None = None
        self._run_frames = 0
        self._last_voiced_end = 0
        self.floor_ms = 0

    def reset(self, floor_ms: int) -> None:
        """Forget any turn in progress (manual commit, clear, new settings)."""
        self.in_speech = False
        self._run_start = None
        self._run_frames = 0
        self.floor_ms = floor_ms

    def feed(self, frame: bytes, frame_start_ms: int) -> SpeechStarted | SpeechStopped | None:
        voiced = self.classifier.is_speech(frame)
        frame_end = frame_start_ms + FRAME_MS
        if not self.in_speech:
            if not voiced:
                self._run_start, self._run_frames = None, 0
                return None
            if self._run_start is None:
                self._run_start = frame_start_ms
            self._run_frames += 1
            self._last_voiced_end = frame_end
            if self._run_frames < START_FRAMES:
                return None
            self.in_speech = True
            onset = self._run_start
            self._run_start, self._run_frames = None, 0
            start = max(self.floor_ms, onset - self.params.prefix_padding_ms)
            return SpeechStarted(audio_start_ms=start, onset_ms=onset)
        if voiced:
            self._last_voiced_end = frame_end
            return None
        if frame_end - self._last_voiced_end < self.params.silence_duration_ms:
            return None
        self.in_speech = False
        return SpeechStopped(audio_end_ms=frame_end, offset_ms=self._last_voiced_end)
