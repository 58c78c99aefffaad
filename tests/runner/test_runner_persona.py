"""A scenario's `persona` drives the built-in stand-in's replies for that scenario only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.support.cli import Cli


def test_persona_sets_exact_replies_for_its_scenario_only(
    tmp_path: Path, repo_root: Path, run_cli: Cli
) -> None:
    persona = repo_root / "examples" / "personas" / "restaurant.yaml"
    suite = tmp_path / "persona.yaml"
    suite.write_text(
        f"""
suite: personas
scenarios:
  - name: scripted
    persona: {persona}
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
    result = run_cli("run", str(suite), "--out", str(out), in_subprocess=True, timeout=180)
    assert result.exit_code == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((out / "latest" / "report.json").read_text())
    said = {s["name"]: s["turns"][0]["assistant_transcript"] for s in report["scenarios"]}
    assert said["scripted"] == "It is sunny and mild today."
    assert said["default"].lower().startswith("you said")


def test_bad_persona_is_a_located_validation_error(tmp_path: Path, run_cli: Cli) -> None:
    bad = tmp_path / "persona.yaml"
    bad.write_text("rules:\n  - match: '('\n    reply: broken\n", encoding="utf-8")
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: s\npersona: persona.yaml\nturns:\n  - say: hello\n", encoding="utf-8")
    result = run_cli("validate", str(scenario), in_subprocess=True, timeout=60)
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[0]
    assert line.startswith(f"{scenario}:2:10: persona:"), line
