"""Scenario loading: valid files load into models; every invalid one names file:line:column and field."""

from __future__ import annotations

from collections.abc import Callable
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
)


def test_actions_load_from_bare_names_and_one_key_mappings(
    tmp_path: Path, write_scenario: Callable[..., Path]
) -> None:
    path = write_scenario(
        tmp_path,
        "s.yaml",
        "name: ok\nturns:\n  - audio: WAV\n    actions: [commit, create_response, {wait_for: response.done},"
        " {sleep_ms: 10}, {create_response: {instructions: hi}}]\n",
    )
    scenario = load_scenario(path)
    actions = scenario.turns[0].actions
    assert [type(a) for a in actions] == [Commit, CreateResponse, WaitFor, Sleep, CreateResponse]
    assert isinstance(actions[2], WaitFor) and actions[2].wait_for.event == "response.done"
    assert isinstance(actions[4], CreateResponse)
    assert actions[4].create_response.payload() == {"instructions": "hi"}


def test_default_actions_push_to_talk(tmp_path: Path, write_scenario: Callable[..., Path]) -> None:
    scenario = load_scenario(write_scenario(tmp_path, "s.yaml", "name: d\nturns:\n  - audio: WAV\n"))
    turn = scenario.turns[0]
    assert turn.actions is None
    assert [type(a) for a in turn.actions_for(scenario.turn_mode(0))] == [Commit, CreateResponse, WaitFor]


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
        (
            "name: x\nturns:\n  - audio: WAV\n    actions: [{wait_for: response.don}]\n",
            ":4:26: turns[0].actions[0].wait_for: 'response.don' is not a Realtime server event type; "
            "did you mean response.done",
        ),
        (
            "name: x\nsession:\n  audio:\n    input:\n"
            "      turn_detection: {type: server_vad, threshhold: 0.5}\nturns:\n  - audio: WAV\n",
            ":5:42: session.audio.input.turn_detection.threshhold: unknown field 'threshhold'",
        ),
        (
            "name: x\nsession:\n  instruction: hi\nturns:\n  - audio: WAV\n",
            ":3:3: session.instruction: unknown field 'instruction'",
        ),
        (
            "name: x\nturns:\n  - audio: WAV\n    expect:\n      latency: {first_audio: 100}\n",
            ":5:17: turns[0].expect.latency.first_audio: invalid key 'first_audio': Input should be",
        ),
        (
            "name: x\nturns:\n  - audio: WAV\n    expect: {output_transcript_matches: '(unclosed'}\n",
            ":4:41: turns[0].expect.output_transcript_matches: invalid regular expression",
        ),
        (
            "name: x\nturns:\n  - audio: WAV\n    say: hello\n",
            ":3:5: turns[0]: a turn either plays `audio` or types `say`, not both",
        ),
        (
            "name: x\nturns:\n  - audio: {gain_db: 90, path: WAV}\n",
            ":3:22: turns[0].audio.gain_db: Input should be less than or equal to 40",
        ),
        (
            "name: x\nturns:\n  - audio: WAV\n    actions: [{barge_in: {after: 500}}]\n",
            ":4:26: turns[0].actions[0].barge_in.audio: missing required field 'audio'",
        ),
        (
            "name: x\nturns:\n  - say: hi\n    actions: [{send: {event_id: e1}}]\n",
            ":4:22: turns[0].actions[0].send: a client event needs a string 'type'",
        ),
        (
            "name: x\nexpect:\n  latency: {first_audio_ms: {}}\nturns:\n  - say: hi\n",
            ":3:29: expect.latency.first_audio_ms: set at least one of max, mean, p50, p90, p95, p99",
        ),
    ],
)
def test_errors_name_file_line_column_and_field(
    tmp_path: Path, write_scenario: Callable[..., Path], body: str, expected: str
) -> None:
    path = write_scenario(tmp_path, "s.yaml", body)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert message.startswith(str(path))
    assert expected in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"name: x\x00\nturns: []\n", ":1:8: invalid YAML: character #x0000 is not allowed"),
        (b"name: x\nturns:\n  - say: [\x01]\n", ":3:11: invalid YAML: character #x0001 is not allowed"),
        (b"name: \xff\nturns: []\n", ":1:7: byte 6 is not UTF-8; save the file as UTF-8"),
    ],
)
def test_unreadable_text_is_one_line_error(tmp_path: Path, data: bytes, expected: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes(data)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert message.startswith(f"{path}{expected}")
    assert "\n" not in message


def test_duplicate_names_rejected(tmp_path: Path, write_scenario: Callable[..., Path]) -> None:
    write_scenario(tmp_path, "a.yaml", "name: same\nturns:\n  - audio: WAV\n")
    write_scenario(tmp_path, "b.yaml", "name: same\nturns:\n  - audio: WAV\n")
    with pytest.raises(ScenarioError, match="'same' is also used"):
        load_scenarios([tmp_path])
