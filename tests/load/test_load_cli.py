"""`rth load` end to end over real loopback WebRTC against the built-in stand-in: two worker
processes, users looping a short scenario, merged figures, thresholds deciding the exit code."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.support.cli import Cli

# One typed turn (a session of about 4 s): each user completes sessions within the 8 s even on a
# loaded machine, where sessions of two turns could all still be running when the time was up.
SHORT = """
name: short
turns:
  - {say: Please book a table for two., expect: {output_transcript_contains: book a table}}
"""


@pytest.fixture(scope="module")
def short_scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("load") / "short.yaml"
    path.write_text(SHORT, encoding="utf-8")
    return path


def load(
    run_cli: Cli,
    scenario: Path,
    out: Path,
    *thresholds: str,
    users: int = 3,
    duration: int = 8,
    workers: int = 2,
) -> tuple[int, dict[str, Any], Path]:
    args = ["load", str(scenario), "--users", str(users), "--duration", str(duration)]
    args += ["--workers", str(workers), "--out", str(out)]
    for expression in thresholds:
        args += ["--threshold", expression]
    result = run_cli(*args, in_subprocess=True, timeout=180)
    assert "Traceback" not in result.stderr, result.stderr
    run_dir = (out / "latest").resolve()
    return result.exit_code, json.loads((run_dir / "report.json").read_text()), run_dir


def test_a_short_load_passes_its_thresholds(run_cli: Cli, short_scenario: Path, tmp_path: Path) -> None:
    code, report, run_dir = load(
        run_cli, short_scenario, tmp_path, "first_audio_ms:p95<5000", "error_rate<0.5", "connect_ms:p99<5000"
    )
    assert code == 0, report["load"]
    figures = report["load"]
    assert figures["model"] == "closed" and figures["users"] == 3
    assert figures["peak_active_sessions"] == 3
    assert figures["sessions_started"] >= 3 and figures["sessions_completed"] >= 3
    assert figures["sessions_failed"] == 0 and figures["turns_completed"] >= figures["sessions_completed"]
    assert figures["latency_ms"]["first_audio_ms"]["count"] >= 3
    assert figures["send_lag_ms"]["count"] > 100
    assert figures["packets_sent"] > 100 and figures["packets_received"] > 100
    assert {w["worker"] for w in figures["workers"]} == {"w0", "w1"}
    assert all(w["rss_mb"] > 0 for w in figures["workers"]) and figures["rss_mb_per_session"] > 0
    assert figures["series"] and figures["series"][0]["t_s"] == 0
    assert [t["passed"] for t in figures["thresholds"]] == [True, True, True]
    # At least one session was sampled: recorded, scored, its timeline and audio kept.
    sampled = report["scenarios"]
    assert sampled and sampled[0]["turns"][0]["assistant_transcript"]
    rtp = sampled[0]["rtp"]  # a decoding session: aiortc's own counters
    assert rtp["packets_sent"] > 50 and rtp["packets_received"] > 50 and rtp["packets_lost"] == 0
    assert (run_dir / sampled[0]["turns"][0]["audio_received"]).is_file()
    sessions = {json.loads(line)["session"] for line in (run_dir / "timeline.jsonl").read_text().splitlines()}
    assert sampled[0]["instance"] in sessions


def test_an_impossible_threshold_exits_1_and_fails_its_junit_case(
    run_cli: Cli, short_scenario: Path, tmp_path: Path
) -> None:
    # One user for a few seconds measures a first audio: enough for a threshold nothing can meet.
    code, report, run_dir = load(
        run_cli, short_scenario, tmp_path, "first_audio_ms:p50<0.001", users=1, duration=3, workers=1
    )
    assert code == 1
    (outcome,) = report["load"]["thresholds"]
    assert outcome["passed"] is False and outcome["measured"] > 0.001
    cases = (
        ET.parse(run_dir / "junit.xml")
        .getroot()
        .findall(".//testsuite[@name='rth.load.thresholds']/testcase")
    )
    assert [case.get("name") for case in cases] == ["first_audio_ms:p50<0.001"]
    assert cases[0].find("failure") is not None


def test_a_bad_threshold_is_a_usage_error_before_anything_runs(
    run_cli: Cli, short_scenario: Path, tmp_path: Path
) -> None:
    result = run_cli("load", str(short_scenario), "--threshold", "first_audio_ms<5", "--out", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "rth: error: --threshold 'first_audio_ms<5': give an aggregate (p50, p90, p95, p99, max, mean), "
        "e.g. 'first_audio_ms:p95<1500' or 'error_rate<0.01'"
    ]


def test_sessions_a_target_refuses_are_failures_by_kind_and_not_a_hot_loop(
    run_cli: Cli, short_scenario: Path, tmp_path: Path
) -> None:
    args = ["load", str(short_scenario), "--target", "http://127.0.0.1:9/v1", "--users", "2"]
    args += ["--duration", "4", "--workers", "1", "--threshold", "error_rate<0.5", "--out", str(tmp_path)]
    env = {"OPENAI_API_KEY": "sk-dummy-nothing-listens-on-port-9"}
    result = run_cli(*args, in_subprocess=True, timeout=120, env=env)
    assert result.exit_code == 1, result.output
    figures = json.loads(((tmp_path / "latest").resolve() / "report.json").read_text())["load"]
    assert figures["sessions_failed"] == figures["sessions_started"] - figures["sessions_completed"]
    assert figures["failures_by_kind"] == {"connect": figures["sessions_failed"]}
    assert 2 <= figures["sessions_started"] <= 2 * 4 + 2  # each user pauses 1 s after a quick failure
    assert figures["error_rate"] == 1.0
