"""Sessions side by side in `rth run`: same verdicts in plan order at any concurrency, one session's
failure stays its own, and Ctrl-C keeps every running session's partial report. Real loopback
WebRTC against the in-process stand-in, through the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
AUDIO = REPO / "fixtures" / "audio"
RTH = [sys.executable, "-m", "harness.cli"]

# Four sessions of different lengths: two that pass, one whose wait times out, one whose target
# refuses the connection (port 9 on loopback: nothing listens there).
MIXED_SUITE = """
suite: mixed
scenarios:
  - name: long
    turns:
      - {say: Please book a table for two., expect: {output_transcript_contains: book a table}}
      - {say: 'What is the weather like?', expect: {output_transcript_contains: weather}}
      - {say: Thank you very much., expect: {response_status: completed}}
  - name: short
    turns:
      - {say: Hello there., expect: {output_transcript_contains: hello}}
  - name: stuck
    turns:
      - say: 'Are you there?'
        actions: [{wait_for: {event: rate_limits.updated, timeout_ms: 1, match: {type: never}}}]
  - name: unreachable
    target: http://127.0.0.1:9/v1
    turns:
      - {say: 'Hello?'}
"""


def run_cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPENAI_API_KEY": "sk-dummy-for-the-unreachable-target"}
    return subprocess.run(
        [*RTH, *args], cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False, env=env
    )


def outcome(report: dict[str, Any]) -> list[tuple[str, bool, str | None, list[tuple[str, bool]]]]:
    """Per session in report order: name, passed, failure kind, and each turn's verdicts."""
    rows = []
    for scenario in report["scenarios"]:
        verdicts = [(v["name"], v["passed"]) for t in scenario["turns"] for v in t["verdicts"]]
        errors = [scenario["error"], *(t["error"] for t in scenario["turns"])]
        passed = all(e is None for e in errors) and all(p for _, p in verdicts)
        rows.append((scenario["name"], passed, scenario["failure_kind"], verdicts))
    return rows


@pytest.fixture(scope="module")
def mixed_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, tuple[int, dict[str, Any]]]:
    folder = tmp_path_factory.mktemp("mixed")
    suite = folder / "mixed.yaml"
    suite.write_text(MIXED_SUITE, encoding="utf-8")
    runs = {}
    for level in (1, 3):
        out = folder / f"c{level}"
        result = run_cli("run", str(suite), "--out", str(out), "--concurrency", str(level))
        assert "Traceback" not in result.stderr, result.stderr
        runs[level] = (result.returncode, json.loads((out / "latest" / "report.json").read_text()))
    return runs


def test_same_verdicts_in_plan_order_at_concurrency_1_and_3(
    mixed_runs: dict[int, tuple[int, dict[str, Any]]],
) -> None:
    (code_1, one), (code_3, three) = mixed_runs[1], mixed_runs[3]
    assert code_1 == code_3 == 1
    assert [s["name"] for s in three["scenarios"]] == ["long", "short", "stuck", "unreachable"]
    assert outcome(one) == outcome(three)
    assert three["config"]["concurrency"] == 3


def test_sessions_ran_side_by_side_at_concurrency_3(
    mixed_runs: dict[int, tuple[int, dict[str, Any]]],
) -> None:
    _, three = mixed_runs[3]
    spans = {
        s["name"]: (start := datetime.fromisoformat(s["started_at"]).timestamp(), start + s["duration_s"])
        for s in three["scenarios"]
    }
    long_end = spans["long"][1]
    assert spans["short"][0] < long_end and spans["stuck"][0] < long_end  # started before long ended


def test_a_failing_session_leaves_the_others_green(mixed_runs: dict[int, tuple[int, dict[str, Any]]]) -> None:
    _, three = mixed_runs[3]
    by_name = {row[0]: row for row in outcome(three)}
    assert by_name["long"][1:3] == (True, None) and len(by_name["long"][3]) == 3
    assert by_name["short"][1:3] == (True, None)
    assert by_name["stuck"][1:3] == (False, "timeout")
    assert by_name["unreachable"][1:3] == (False, "connect")


def test_ctrl_c_at_concurrency_3_keeps_every_sessions_partial_report(tmp_path: Path) -> None:
    suite = tmp_path / "long.yaml"
    scenario = (
        "  - name: {name}\n    turns:\n"
        f"      - audio: {AUDIO / 'weather_paris.wav'}\n"
        f"      - audio: {AUDIO / 'tell_story.wav'}\n"
        f"      - audio: {AUDIO / 'tell_story.wav'}\n"
    )
    suite.write_text("scenarios:\n" + "".join(scenario.format(name=n) for n in ("a", "b", "c")))
    out = tmp_path / "reports"
    process = subprocess.Popen(
        [*RTH, "run", str(suite), "--out", str(out), "--concurrency", "3"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    answered: set[str] = set()
    while time.monotonic() < deadline and len(answered) < 3:  # every session had a reply measured
        timeline = out / "latest" / "timeline.jsonl"
        if timeline.exists():
            for line in timeline.read_text().splitlines():
                if line.endswith("}") and '"type":"response.done"' in line:
                    answered.add(json.loads(line)["session"])
        time.sleep(0.1)
    assert answered == {"a", "b", "c"}
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    report = json.loads((out / "latest" / "report.json").read_text())
    assert report["interrupted"] is True
    assert [s["name"] for s in report["scenarios"]] == ["a", "b", "c"]
    for session in report["scenarios"]:
        assert session["failure_kind"] == "interrupted"
        first = session["turns"][0]
        assert first["response_status"] == "completed" and first["user_transcript"]
        assert session["turns"][-1]["failure_kind"] == "interrupted"  # the turn that was running
