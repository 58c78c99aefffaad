"""`rth run` end to end: the smoke suite over real loopback WebRTC against the in-process stand-in.

One run of the suite (module fixture) is inspected by several tests: transcripts, audio, the
cancelled turn, the timeline's schema conformance and the report on disk.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from harness.metrics import SILENCE_DBFS, frame_levels
from harness.protocol import parse_server_event

REPO = Path(__file__).resolve().parents[2]
RTH = [sys.executable, "-m", "harness.cli"]


def rth(*args: str, cwd: Path = REPO, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*RTH, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path_factory.mktemp("reports")
    result = rth("run", "scenarios/smoke.yaml", "--out", str(out))
    return result, (out / "latest").resolve()


@pytest.fixture(scope="module")
def report(smoke_run: tuple[subprocess.CompletedProcess[str], Path]) -> dict[str, Any]:
    _, run_dir = smoke_run
    data: dict[str, Any] = json.loads((run_dir / "report.json").read_text())
    return data


def turns(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {turn["name"]: turn for turn in report["scenarios"][0]["turns"]}


def test_smoke_suite_passes_with_exit_code_zero(
    smoke_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, run_dir = smoke_run
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert str(run_dir / "report.json") in result.stdout.replace("\n", "")


def test_manual_turn_yields_both_transcripts_and_sound(report: dict[str, Any]) -> None:
    weather = turns(report)["weather"]
    assert weather["user_transcript"], "input transcription came back empty"
    assert weather["assistant_transcript"], "assistant transcript came back empty"
    assert weather["audio_received_non_silent"] is True
    assert weather["response_status"] == "completed"
    assert weather["input_wer"]["wer"] <= 0.5
    assert weather["latencies_ms"]["first_audio_ms"] is not None
    assert weather["latencies_ms"]["response_done_ms"] >= weather["latencies_ms"]["first_audio_ms"]


def test_captured_audio_is_the_assistant_speaking(
    smoke_run: tuple[subprocess.CompletedProcess[str], Path], report: dict[str, Any]
) -> None:
    _, run_dir = smoke_run
    weather = turns(report)["weather"]
    samples, rate = sf.read(run_dir / weather["audio_received"], dtype="float32")
    assert rate == 48_000
    levels = frame_levels(samples, rate)
    voiced_s = float(np.sum(np.asarray(levels) > SILENCE_DBFS)) * 0.020
    assert voiced_s > 0.5, f"only {voiced_s:.2f} s of sound captured"


def test_cancel_mid_response_stops_audio(
    smoke_run: tuple[subprocess.CompletedProcess[str], Path], report: dict[str, Any]
) -> None:
    _, run_dir = smoke_run
    interrupted = turns(report)["interrupted"]
    assert interrupted["response_status"] == "cancelled"
    entries = [json.loads(line) for line in (run_dir / "timeline.jsonl").read_text().splitlines()]
    mine = [e for e in entries if e["turn"] == interrupted["index"]]
    turn_start = next(e["t"] for e in mine if e["type"] == "turn.start")
    cancel_t = next(e["t"] for e in mine if e["kind"] == "sent" and e["type"] == "response.cancel")
    samples, rate = sf.read(run_dir / interrupted["audio_received"], dtype="float32")
    levels = np.asarray(frame_levels(samples, rate))
    frame_t = turn_start + np.arange(len(levels)) * 0.020
    before = levels[frame_t < cancel_t]
    after = levels[frame_t > cancel_t + 0.5]
    assert np.any(before > SILENCE_DBFS), "the reply never started before the cancel"
    assert len(after) >= 25, "capture should run on for at least 0.5 s after the cancel"
    assert np.all(after <= SILENCE_DBFS), (
        "audio kept playing after response.cancel + output_audio_buffer.clear"
    )
    assert any(e["type"] == "output_audio_buffer.cleared" for e in mine if e["kind"] == "received")


def test_every_received_event_parses_with_openai_types(
    smoke_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    _, run_dir = smoke_run
    received = [
        e["data"]
        for line in (run_dir / "timeline.jsonl").read_text().splitlines()
        if (e := json.loads(line))["kind"] == "received"
    ]
    assert len(received) > 30
    for event in received:
        parse_server_event(event)


def test_bad_scenario_is_one_line_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nturns:\n  - audio: missing.wav\n")
    result = rth("run", str(bad), "--out", str(tmp_path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{bad}:3:" in lines[0] and "file not found" in lines[0]


def test_url_target_without_key_is_a_clear_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    result = subprocess.run(
        [*RTH, "run", "scenarios/smoke.yaml", "--target", "http://127.0.0.1:9/v1", "--out", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert result.returncode == 2
    assert "OPENAI_API_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_ctrl_c_keeps_a_partial_report(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [*RTH, "run", "scenarios/smoke.yaml", "--out", str(tmp_path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    timeline = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until the first turn's reply has been measured
        runs = [p for p in tmp_path.iterdir() if p.is_dir() and not p.is_symlink()]
        timeline = runs[0] / "timeline.jsonl" if runs else None
        if timeline and timeline.exists() and '"type":"response.done"' in timeline.read_text():
            break
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert timeline is not None
    data = json.loads((timeline.parent / "report.json").read_text())
    assert data["interrupted"] is True
    first = data["scenarios"][0]["turns"][0]
    assert first["response_status"] == "completed"
