"""Scenario loading: valid files load into models; every invalid one names file:line:column and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import ScenarioError
from harness.scenario import (
    Commit,
    CreateResponse,
    Sleep,
    WaitFor,
    load_scenario,
    load_scenarios,
    scenario_json_schema,
)

REPO = Path(__file__).resolve().parents[2]
WAV = REPO / "fixtures" / "audio" / "weather_paris.wav"


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text.replace("WAV", str(WAV)), encoding="utf-8")
    return path


def test_actions_load_from_bare_names_and_one_key_mappings(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name: ok\nturns:\n  - audio: WAV\n    actions: [commit, create_response, {wait_for: response.done},"
        " {sleep_ms: 10}, {create_response: {instructions: hi}}]\n",
    )
    scenario = load_scenario(path)
    actions = scenario.turns[0].actions
    assert [type(a) for a in actions] == [Commit, CreateResponse, WaitFor, Sleep, CreateResponse]
    assert isinstance(actions[2], WaitFor) and actions[2].wait_for.event == "response.done"
    assert isinstance(actions[4], CreateResponse) and actions[4].create_response == {"instructions": "hi"}


def test_default_actions_push_to_talk(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, "name: d\nturns:\n  - audio: WAV\n"))
    assert [type(a) for a in scenario.turns[0].actions] == [Commit, CreateResponse, WaitFor]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "name: x\nturns:\n  - audio: WAV\n    actions:\n      - commit\n      - comit\n",
            ":6:9: turns[0].actions[1]: unknown action; use one of: commit",
        ),
        (
            "name: x\nturns:\n  - audio: WAV\n    actions:\n      - wait_for: {evnt: response.done}\n",
            ":5:19: turns[0].actions[0].wait_for.event: missing required field 'event'",
        ),
        (
            "name: x\nturns:\n  - audio: WAV\n    expect:\n      max_input_wer: 0.5\n      bogus: 1\n",
            ":6:7: turns[0].expect.bogus: unknown field 'bogus'",
        ),
        (
            "name: x\nturns:\n  - audio: WAV\n    actions: [{sleep_ms: -1}]\n",
            ":4:26: turns[0].actions[0].sleep_ms:",
        ),
        ("name: x\nturns:\n  - audio: nowhere.wav\n", ":3:12: turns[0].audio: file not found"),
        ("name: x\nturns: [\n", "invalid YAML"),
        ("name: bad name\nturns:\n  - audio: WAV\n", ":1:7: name: String should match pattern"),
        ("turns:\n  - audio: WAV\n", ":1:1: name: missing required field 'name'"),
    ],
)
def test_errors_name_file_line_column_and_field(tmp_path: Path, body: str, expected: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert message.startswith(str(path))
    assert expected in message
    assert "\n" not in message


def test_duplicate_names_rejected(tmp_path: Path) -> None:
    write(tmp_path, "name: same\nturns:\n  - audio: WAV\n", "a.yaml")
    write(tmp_path, "name: same\nturns:\n  - audio: WAV\n", "b.yaml")
    with pytest.raises(ScenarioError, match="'same' is also used"):
        load_scenarios([tmp_path])


def test_shipped_scenarios_are_valid() -> None:
    scenarios = load_scenarios([REPO / "scenarios"])
    assert {s.name for s in scenarios} >= {"smoke"}


def test_committed_json_schema_is_current() -> None:
    committed = json.loads((REPO / "docs" / "scenario.schema.json").read_text(encoding="utf-8"))
    assert committed == scenario_json_schema(), "run: rth schema > docs/scenario.schema.json"
