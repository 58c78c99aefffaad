"""`rth run` end to end: the smoke suite over real loopback WebRTC against the in-process stand-in.

One run of the suite (module fixture) is inspected by several tests: transcripts, audio, the
cancelled turn, the timeline's schema conformance and the report on disk.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import soundfile as sf

from harness.metrics import SILENCE_DBFS, frame_levels
from harness.protocol import parse_server_event

if TYPE_CHECKING:
    from tests.support.cli import Cli, CliResult


@pytest.fixture(scope="module")
def smoke_run(
    tmp_path_factory: pytest.TempPathFactory, run_cli: Cli, relaxed_suite: Callable[[str], Path]
) -> tuple[CliResult, Path]:
    """The smoke suite as committed, but with room in its latency budget (tests/support/budgets.py)."""
    out = tmp_path_factory.mktemp("reports")
    result = run_cli("run", str(relaxed_suite("smoke.yaml")), "--out", str(out), in_subprocess=True)
    return result, (out / "latest").resolve()


@pytest.fixture(scope="module")
def report(smoke_run: tuple[CliResult, Path]) -> dict[str, Any]:
    _, run_dir = smoke_run
    data: dict[str, Any] = json.loads((run_dir / "report.json").read_text())
    return data


def turns(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {turn["name"]: turn for turn in report["scenarios"][0]["turns"]}


def test_smoke_suite_passes_with_exit_code_zero(
    smoke_run: tuple[CliResult, Path],
) -> None:
    result, run_dir = smoke_run
    assert result.exit_code == 0, result.output
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
    smoke_run: tuple[CliResult, Path], report: dict[str, Any]
) -> None:
    _, run_dir = smoke_run
    weather = turns(report)["weather"]
    samples, rate = sf.read(run_dir / weather["audio_received"], dtype="float32")
    assert rate == 48_000
    levels = frame_levels(samples, rate)
    voiced_s = float(np.sum(np.asarray(levels) > SILENCE_DBFS)) * 0.020
    assert voiced_s > 0.5, f"only {voiced_s:.2f} s of sound captured"


def test_cancel_mid_response_stops_audio(
    smoke_run: tuple[CliResult, Path], report: dict[str, Any]
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


def test_the_session_reports_its_rtp_counters(report: dict[str, Any]) -> None:
    rtp = report["scenarios"][0]["rtp"]
    assert rtp["packets_sent"] > 500 and rtp["packets_received"] > 100  # 20 ms packets, both ways
    assert rtp["packets_lost"] == 0 and 0 <= rtp["jitter_ms"] < 100


def test_every_received_event_parses_with_openai_types(
    smoke_run: tuple[CliResult, Path],
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


def test_bad_scenario_is_one_line_exit_2(tmp_path: Path, run_cli: Cli) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nturns:\n  - audio: missing.wav\n")
    result = run_cli("run", str(bad), "--out", str(tmp_path), in_subprocess=True)
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{bad}:3:" in lines[0] and "file not found" in lines[0]


def test_ctrl_c_keeps_a_partial_report(tmp_path: Path, run_cli: Cli) -> None:
    def timeline() -> Path | None:
        runs = [p for p in tmp_path.iterdir() if p.is_dir() and not p.is_symlink()]
        return runs[0] / "timeline.jsonl" if runs else None

    def first_reply_measured() -> bool:  # wait until the first turn's reply has been measured
        path = timeline()
        return path is not None and path.exists() and '"type":"response.done"' in path.read_text()

    result = run_cli(
        "run",
        "scenarios/smoke.yaml",
        "--out",
        str(tmp_path),
        in_subprocess=True,
        interrupt_when=first_reply_measured,
        interrupt_within=60,
        timeout=60,
    )
    assert result.exit_code == 130, result.stderr
    assert "Traceback" not in result.stderr
    path = timeline()
    assert path is not None
    data = json.loads((path.parent / "report.json").read_text())
    assert data["interrupted"] is True
    first = data["scenarios"][0]["turns"][0]
    assert first["response_status"] == "completed"
