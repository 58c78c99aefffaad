"""A scenario's `persona` drives the built-in stand-in's replies for that scenario only: it goes
with the scenario's call (the X-Rth-Persona header), and only to our own stand-in."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from harness.client import Target
from harness.errors import ScenarioError
from harness.protocol import PERSONA_HEADER, decode_persona
from harness.runner.targets import ResolvedTarget, scenario_target
from harness.scenario import Scenario

if TYPE_CHECKING:
    from tests.support.cli import Cli



@pytest.fixture
def persona(repo_root: Path) -> Path:
    return repo_root / "examples" / "personas" / "restaurant.yaml"


def scenario(persona: Path | None) -> Scenario:
    return Scenario.model_validate({"name": "s", "persona": persona, "turns": [{"say": "hello"}]})


@pytest.mark.parametrize(
    ("url", "builtin", "sent"),
    [
        ("https://api.openai.com/v1", False, False),
        ("https://realtime-proxy.example.com:8443/v1", False, False),
        ("http://10.0.0.5:8089/v1", False, False),  # maybe an rth serve, but not known to be ours
        ("http://127.0.0.1:8089/v1", False, True),  # rth serve
        ("http://localhost:8089/v1", False, True),
        ("http://[::1]:8089/v1", False, True),
        ("http://127.0.0.1:40123/v1", True, True),  # --target local
    ],
)
def test_the_persona_header_goes_only_to_our_standin(
    url: str, builtin: bool, sent: bool, persona: Path
) -> None:
    resolved = ResolvedTarget(Target(url, "sk-test", "gpt-realtime"), builtin=builtin)
    assert resolved.is_standin is sent
    target = scenario_target(resolved, scenario(persona), "gpt-realtime-mini")
    assert (target.base_url, target.model) == (url, "gpt-realtime-mini")
    assert target.api_key.get_secret_value() == "sk-test"
    headers = dict(target.call_headers)
    if sent:
        assert decode_persona(headers.pop(PERSONA_HEADER)) == persona.read_text(encoding="utf-8")
    assert headers == {}


def test_no_persona_no_header_and_other_call_headers_are_kept(persona: Path) -> None:
    resolved = ResolvedTarget(Target("http://127.0.0.1:8089/v1", "k", call_headers={"X-Trace": "1"}), True)
    assert scenario_target(resolved, scenario(None), "m").call_headers == (("X-Trace", "1"),)
    with_persona = dict(scenario_target(resolved, scenario(persona), "m").call_headers)
    assert set(with_persona) == {"X-Trace", PERSONA_HEADER}


def test_an_unreadable_persona_is_a_scenario_error(tmp_path: Path) -> None:
    resolved = ResolvedTarget(Target("http://127.0.0.1:8089/v1", "k"), builtin=True)
    with pytest.raises(ScenarioError, match=r"missing\.yaml: cannot read persona file"):
        scenario_target(resolved, scenario(tmp_path / "missing.yaml"), "m")


def test_personas_side_by_side_each_get_their_own_replies(
    tmp_path: Path, run_cli: Cli, persona: Path
) -> None:
    pirate = tmp_path / "pirate.yaml"
    pirate.write_text("name: pirate\nfallback: Arr, the sea is calm.\n", encoding="utf-8")
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
  - name: pirate
    persona: {pirate}
    turns:
      - name: weather
        say: What is the weather like?
        reply: Arr, the sea is calm.
        expect: {{max_output_wer: 0.0}}
""",
        encoding="utf-8",
    )
    out = tmp_path / "reports"
    args = ("run", str(suite), "--out", str(out), "--concurrency", "3")
    result = run_cli(*args, in_subprocess=True, timeout=180)
    assert result.exit_code == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((out / "latest" / "report.json").read_text())
    said = {s["name"]: s["turns"][0]["assistant_transcript"] for s in report["scenarios"]}
    assert said["scripted"] == "It is sunny and mild today."
    assert said["default"].lower().startswith("you said")
    assert said["pirate"] == "Arr, the sea is calm."
    # The three sessions shared the stand-in at the same time: their spans overlap.
    spans = [
        (start := datetime.fromisoformat(s["started_at"]).timestamp(), start + s["duration_s"])
        for s in report["scenarios"]
    ]
    assert max(a for a, _ in spans) < min(b for _, b in spans)


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
