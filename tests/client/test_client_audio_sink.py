"""Capture: onset/offset detection on synthetic frames, arrival-time stamping, WAV segments."""

from __future__ import annotations

import time
from pathlib import Path

import aiortc.clock
import av
import numpy as np
import pytest
import soundfile

from harness.client.arrival import PacketArrivals, arrival_ms_to_monotonic, install_arrival_hook
from harness.client.audio_sink import OFFSET_HANGOVER_FRAMES, AudioCapture, LevelDetector
from harness.protocol import FRAME_SAMPLES
from harness.timeline import EntryKind, Milestone, Timeline

LOUD = 8000  # about -12 dBFS
QUIET = 3  # about -80 dBFS


def stereo_frame(value: int, pts: int) -> av.AudioFrame:
    """What aiortc's Opus decoder delivers: s16 packed stereo, 960 samples."""
    data = np.full((1, FRAME_SAMPLES * 2), value, dtype=np.int16)
    frame = av.AudioFrame.from_ndarray(data, format="s16", layout="stereo")
    frame.sample_rate = 48000
    frame.pts = pts
    return frame


def milestones(timeline: Timeline) -> list[tuple[str, float, dict[str, object]]]:
    return [(e.type, e.t, e.data) for e in timeline if e.kind == EntryKind.MILESTONE]


def test_level_detector_onset_offset_with_hangover() -> None:
    detector = LevelDetector(threshold_dbfs=-50.0, hangover_frames=3)
    levels = [-90, -60, -20, -25, -70, -70, -30, -70, -70, -70, -70]
    changes = [
        detector.feed(db, t=i * 0.02, delivery_t=i * 0.02 + 0.08, clock="arrival")
        for i, db in enumerate(levels)
    ]
    found = [(c.milestone, round(c.t, 2), c.dbfs) for c in changes if c is not None]
    # The two-frame gap (4, 5) is bridged; the offset is stamped at the last loud frame (6).
    assert found == [(Milestone.OUTPUT_AUDIO_ONSET, 0.04, -20), (Milestone.OUTPUT_AUDIO_OFFSET, 0.12, -30)]
    assert detector.flush() is None


def test_level_detector_flush_ends_active_stretch() -> None:
    detector = LevelDetector(hangover_frames=25)
    assert detector.feed(-10, t=1.0, delivery_t=1.08, clock="delivery") is not None
    change = detector.flush()
    assert change is not None and change.milestone == Milestone.OUTPUT_AUDIO_OFFSET and change.t == 1.0


def test_capture_marks_onset_at_packet_arrival_and_writes_segment(tmp_path: Path) -> None:
    timeline = Timeline("t")
    capture = AudioCapture(timeline, hangover_frames=OFFSET_HANGOVER_FRAMES)
    base = timeline.origin + 10.0
    capture.begin_segment(tmp_path / "seg" / "turn0.wav")
    values = [0] * 5 + [LOUD] * 10 + [QUIET] * 30
    for i, value in enumerate(values):
        pts = i * FRAME_SAMPLES
        arrival = base + i * 0.02
        capture.arrivals.add(1_000_000 + pts, arrival)  # RTP timestamps start anywhere
        capture.process(stereo_frame(value, pts), delivered_at=arrival + 0.08)
    captured = capture.end_segment()

    marks = milestones(timeline)
    assert [m[0] for m in marks] == [Milestone.OUTPUT_AUDIO_ONSET, Milestone.OUTPUT_AUDIO_OFFSET]
    onset, offset = marks
    assert onset[1] == pytest.approx(10.0 + 5 * 0.02)  # arrival of frame 5, not its delivery
    assert onset[2]["clock"] == "arrival" and onset[2]["delivery_t"] == pytest.approx(10.18)
    assert onset[2]["dbfs"] == pytest.approx(-12.25, abs=0.1)
    assert offset[1] == pytest.approx(10.0 + 14 * 0.02)
    assert capture.frames_with_arrival == len(values)
    assert capture.last_delivery_lag_s == pytest.approx(0.08)

    assert captured.path == tmp_path / "seg" / "turn0.wav"
    assert captured.duration_s == pytest.approx(len(values) * 0.02)
    assert captured.non_silent and captured.peak_dbfs == pytest.approx(-12.25, abs=0.1)
    data, rate = soundfile.read(str(captured.path), dtype="int16")
    info = soundfile.info(str(captured.path))
    assert rate == 48000 and info.channels == 1 and info.subtype == "PCM_16"
    assert len(data) == len(values) * FRAME_SAMPLES and data[5 * FRAME_SAMPLES] == LOUD


def test_capture_falls_back_to_delivery_time_and_silent_segment(tmp_path: Path) -> None:
    timeline = Timeline("t")
    capture = AudioCapture(timeline)
    capture.begin_segment(tmp_path / "silent.wav")
    delivered = timeline.origin + 3.0
    capture.process(stereo_frame(0, 0), delivered_at=delivered)
    silent = capture.end_segment()
    assert not silent.non_silent and silent.peak_dbfs == -120.0 and silent.duration_s == pytest.approx(0.02)
    capture.process(stereo_frame(LOUD, 960), delivered_at=delivered + 0.02)  # no segment open: not written
    (onset,) = milestones(timeline)
    assert onset[0] == Milestone.OUTPUT_AUDIO_ONSET and onset[2]["clock"] == "delivery"
    assert onset[1] == pytest.approx(3.02)


def test_late_offset_is_recorded_under_the_turn_of_its_frame() -> None:
    timeline = Timeline("t")
    capture = AudioCapture(timeline, hangover_frames=5)
    base = timeline.origin + 1.0
    timeline.turn = 0
    for i in range(3):
        capture.process(stereo_frame(LOUD, i * FRAME_SAMPLES), delivered_at=base + i * 0.02)
    timeline.turn = 1  # the runner moved on before the hangover elapsed
    for i in range(3, 10):
        capture.process(stereo_frame(0, i * FRAME_SAMPLES), delivered_at=base + i * 0.02)
    onset, offset = (e for e in timeline if e.kind == EntryKind.MILESTONE)
    assert onset.turn == 0 and offset.turn == 0 and offset.t == pytest.approx(1.04)
    assert timeline.turn == 1


def test_capture_segment_misuse_raises(tmp_path: Path) -> None:
    capture = AudioCapture(Timeline())
    with pytest.raises(RuntimeError, match="begin_segment"):
        capture.end_segment()
    capture.begin_segment(tmp_path / "a.wav")
    with pytest.raises(RuntimeError, match="end_segment"):
        capture.begin_segment(tmp_path / "b.wav")


def test_capture_downmixes_stereo_by_averaging() -> None:
    capture = AudioCapture(Timeline())
    data = np.zeros((1, FRAME_SAMPLES * 2), dtype=np.int16)
    data[0, 0::2], data[0, 1::2] = 1000, 3000
    frame = av.AudioFrame.from_ndarray(data, format="s16", layout="stereo")
    frame.sample_rate = 48000
    mono = capture._to_mono(frame)
    assert mono.shape == (FRAME_SAMPLES,) and np.all(mono == 2000)


def test_capture_resamples_unusual_formats(tmp_path: Path) -> None:
    capture = AudioCapture(Timeline())
    capture.begin_segment(tmp_path / "8k.wav")
    for i in range(10):  # 200 ms of float samples at 8 kHz, a quarter of full scale
        data = np.full((1, 160), 0.25, dtype=np.float32)
        frame = av.AudioFrame.from_ndarray(data, format="flt", layout="mono")
        frame.sample_rate = 8000
        frame.pts = i * 160
        capture.process(frame, delivered_at=time.monotonic())
    segment = capture.end_segment()
    samples, rate = soundfile.read(segment.path, dtype="int16")
    # swresample holds back a few samples of its filter: at most the first chunk's worth.
    assert rate == 48_000 and 9 * 960 <= len(samples) <= 10 * 960
    assert capture.frames >= 9
    assert np.all(np.abs(samples[480:-480].astype(np.int32) - 8192) <= 82)  # 0.25 x 32768, within 1%
    assert segment.non_silent


def test_packet_arrivals_unwraps_like_aiortc_timestamp_mapper() -> None:
    arrivals = PacketArrivals(capacity=8)
    start = (1 << 32) - 2 * FRAME_SAMPLES  # wraps after two frames
    for i in range(6):
        arrivals.add((start + i * FRAME_SAMPLES) % (1 << 32), 100.0 + i)
    assert [arrivals.lookup(i * FRAME_SAMPLES) for i in range(6)] == [100.0 + i for i in range(6)]
    arrivals.add((start + 3 * FRAME_SAMPLES) % (1 << 32), 999.0)  # duplicate/reordered: first arrival kept
    assert arrivals.lookup(3 * FRAME_SAMPLES) == 103.0
    assert arrivals.lookup(2 * FRAME_SAMPLES + 312) == 102.0  # shifted pts: nearest earlier frame
    assert arrivals.lookup(None) is None and arrivals.lookup(-5000) is None
    for i in range(6, 20):
        arrivals.add((start + i * FRAME_SAMPLES) % (1 << 32), 100.0 + i)
    assert arrivals.lookup(0) is None and arrivals.lookup(19 * FRAME_SAMPLES) == 119.0  # bounded


def test_arrival_clock_is_ntp_epoch_wall_ms_converted_to_monotonic() -> None:
    # aiortc stamps arrivals with aiortc.clock.current_ms(): wall-clock ms since 1900.
    converted = arrival_ms_to_monotonic(aiortc.clock.current_ms())
    assert converted == pytest.approx(time.monotonic(), abs=0.05)
    # A packet that arrived 150 ms ago (per aiortc's clock) maps 150 ms back on the monotonic clock.
    old = arrival_ms_to_monotonic(aiortc.clock.current_ms() - 150)
    assert time.monotonic() - old == pytest.approx(0.150, abs=0.05)
    # A stepped wall clock (implausible age) falls back to now.
    assert arrival_ms_to_monotonic(0) == pytest.approx(time.monotonic(), abs=0.05)


async def test_arrival_hook_wraps_only_this_receiver() -> None:
    class Packet:
        timestamp = 5000

    class Receiver:
        def __init__(self) -> None:
            self.seen: list[int] = []

        async def _handle_rtp_packet(self, packet: Packet, arrival_time_ms: int) -> None:
            self.seen.append(arrival_time_ms)

    hooked, other = Receiver(), Receiver()
    arrivals = PacketArrivals()
    install_arrival_hook(hooked, arrivals)
    install_arrival_hook(hooked, arrivals)  # idempotent
    now_ms = aiortc.clock.current_ms()
    await hooked._handle_rtp_packet(Packet(), arrival_time_ms=now_ms)
    await other._handle_rtp_packet(Packet(), arrival_time_ms=now_ms)
    assert hooked.seen == [now_ms] and other.seen == [now_ms]
    assert arrivals.packets == 1 and arrivals.lookup(0) == pytest.approx(time.monotonic(), abs=0.05)
