"""A scenario's `persona` drives the built-in stand-in's replies for that scenario only."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PERSONA = REPO / "examples" / "personas" / "restaurant.yaml"


def test_persona_sets_exact_replies_for_its_scenario_only(tmp_path: Path) -> None:
    suite = tmp_path / "persona.yaml"
    suite.write_text(
        f"""
suite: personas
scenarios:
  - name: scripted
    persona: {PERSONA}
    turns:
      - name: weather
        say: What is the weather like?
        reply: It is sunny and mild today.
        expect: {{max_output_wer: 0.0, response_status: completed}}
  - name: default
    turns:
      - name: echo
        say: What is the weather like?
        expect: {{output_transcript_contains: you said}}
""",
        encoding="utf-8",
    )
    out = tmp_path / "reports"
    result = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", str(suite), "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((out / "latest" / "report.json").read_text())
    said = {s["name"]: s["turns"][0]["assistant_transcript"] for s in report["scenarios"]}
    assert said["scripted"] == "It is sunny and mild today."
    assert said["default"].lower().startswith("you said")


def test_bad_persona_is_a_located_validation_error(tmp_path: Path) -> None:
    bad = tmp_path / "persona.yaml"
    bad.write_text("rules:\n  - match: '('\n    reply: broken\n", encoding="utf-8")
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: s\npersona: persona.yaml\nturns:\n  - say: hello\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "harness.cli", "validate", str(scenario)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[0]
    assert line.startswith(f"{scenario}:2:10: persona:"), line
