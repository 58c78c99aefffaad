"""The VAD on real speech (the committed fixture WAVs), off the network: boundaries on the audio clock."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile

from harness.server.vad import (
    FRAME_BYTES,
    FRAME_MS,
    SEMANTIC_SILENCE_MS,
    Segmenter,
    SpeechStarted,
    SpeechStopped,
    VadParams,
)

RATE = 16_000
LEAD_MS = 1000


def to_16k(path: Path) -> np.ndarray:
    data, rate = soundfile.read(path, dtype="int16", always_2d=True)
    frame = av.AudioFrame.from_ndarray(data[:, :1].T.copy(), format="s16", layout="mono")
    frame.sample_rate = rate
    frame.pts = 0
    frame.time_base = Fraction(1, rate)
    resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
    frames = [*resampler.resample(frame), *resampler.resample(None)]
    return np.concatenate([f.to_ndarray().reshape(-1) for f in frames]).astype(np.int16)


def run(samples: np.ndarray, params: VadParams) -> list[SpeechStarted | SpeechStopped]:
    segmenter = Segmenter(params)
    found = []
    for offset in range(0, len(samples) - FRAME_BYTES // 2 + 1, FRAME_BYTES // 2):
        event = segmenter.feed(samples[offset : offset + FRAME_BYTES // 2].tobytes(), offset * 1000 // RATE)
        if event is not None:
            found.append(event)
    return found


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.8])  # docs/standin.md: within +-100 ms at 0.3-0.8
@pytest.mark.parametrize("name", ["weather_paris.wav", "book_table.wav", "tell_story.wav", "thank_you.wav"])
def test_boundaries_match_the_speech(name: str, threshold: float, audio_fixtures: Path) -> None:
    speech = to_16k(audio_fixtures / name)
    pad = np.zeros(RATE * LEAD_MS // 1000, dtype=np.int16)
    samples = np.concatenate([pad, speech, pad, pad])
    voiced = np.flatnonzero(np.abs(speech.astype(np.int32)) > 300)
    onset, offset = LEAD_MS + voiced[0] * 1000 / RATE, LEAD_MS + voiced[-1] * 1000 / RATE
    params = VadParams(type="server_vad", threshold=threshold)
    events = run(samples, params)
    assert [type(e) for e in events] == [SpeechStarted, SpeechStopped], events
    started, stopped = events
    assert isinstance(started, SpeechStarted) and isinstance(stopped, SpeechStopped)
    # One frame is 20 ms; flite's soft onsets and the 8 kHz kal voice cost a few more.
    assert abs(started.onset_ms - onset) <= 100, (started, onset)
    assert abs(stopped.offset_ms - offset) <= 100, (stopped, offset)
    assert started.audio_start_ms == started.onset_ms - params.prefix_padding_ms
    assert stopped.audio_end_ms == stopped.offset_ms + params.silence_duration_ms


def test_threshold_gates_quiet_noise_and_silence() -> None:
    rng = np.random.default_rng(7)
    hiss = (rng.standard_normal(RATE * 2) * 32768 * 10 ** (-55 / 20)).astype(np.int16)  # -55 dBFS
    assert run(hiss, VadParams(type="server_vad", threshold=0.5)) == []
    assert run(np.zeros(RATE * 2, dtype=np.int16), VadParams(type="server_vad", threshold=0.0)) == []


def test_prefix_padding_never_reaches_before_the_buffer(audio_fixtures: Path) -> None:
    speech = to_16k(audio_fixtures / "weather_paris.wav")
    started = run(speech, VadParams(type="server_vad", prefix_padding_ms=5000))[0]
    assert isinstance(started, SpeechStarted) and started.audio_start_ms == 0


def test_session_settings_resolve_with_api_defaults() -> None:
    assert VadParams.from_session(None) is None
    server = VadParams.from_session(
        {"type": "server_vad", "silence_duration_ms": 200, "create_response": False}
    )
    assert server is not None and server.silence_duration_ms == 200 and server.threshold == 0.5
    assert server.create_response is False and server.interrupt_response is True
    semantic = VadParams.from_session({"type": "semantic_vad", "eagerness": "low"})
    assert semantic is not None and semantic.silence_duration_ms == SEMANTIC_SILENCE_MS["low"]
    assert FRAME_MS == 20
