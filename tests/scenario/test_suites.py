"""Suite files: several scenarios, shared defaults, includes (nested, globbed, cyclic), and which
files a folder run picks up."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from harness.errors import ScenarioError
from harness.scenario import check, load_file, load_scenarios

SUITE = """\
suite: nightly
defaults:
  tags: [regression]
  connect: ephemeral
  session:
    instructions: Be brief.
    audio: {output: {voice: marin}, input: {turn_detection: {type: server_vad, silence_duration_ms: 400}}}
  turn_expect: {response_status: completed, latency: {first_audio_ms: 2000}}
  expect: {max_pooled_input_wer: 0.3}
scenarios:
  - name: plain
    turns: [{audio: WAV}]
  - name: own
    tags: [smoke]
    connect: unified
    session:
      audio: {output: {voice: cedar}, input: {turn_detection: {type: semantic_vad}}}
    turn_expect: {latency: {first_audio_ms: 900}}
    turns:
      - audio: WAV
        expect: {response_status: cancelled}
"""


def test_defaults_sit_under_each_scenario(tmp_path: Path, write_scenario: Callable[..., Path]) -> None:
    plain, own = load_scenarios([write_scenario(tmp_path, "suite.yaml", SUITE)])
    assert plain.tags == ["regression", "nightly"]
    assert plain.connect == "ephemeral"
    assert plain.session.payload() == {
        "instructions": "Be brief.",
        "audio": {
            "output": {"voice": "marin"},
            "input": {"turn_detection": {"type": "server_vad", "silence_duration_ms": 400}},
        },
    }
    assert plain.expect.max_pooled_input_wer == 0.3
    assert plain.expectations(0).response_status == "completed"
    assert plain.expectations(0).latency == {"first_audio_ms": 2000}
    # What the scenario sets wins; mappings merge key by key; a turn detection of another type replaces.
    assert own.tags == ["regression", "nightly", "smoke"]
    assert own.connect == "unified"
    assert own.session.payload() == {
        "instructions": "Be brief.",
        "audio": {"output": {"voice": "cedar"}, "input": {"turn_detection": {"type": "semantic_vad"}}},
    }
    assert own.expectations(0).response_status == "cancelled"
    assert own.expectations(0).latency == {"first_audio_ms": 900}
    assert own.turn_mode(0) == "vad"  # the session sets turn detection


def test_includes_nest_and_inner_defaults_win(tmp_path: Path, write_scenario: Callable[..., Path]) -> None:
    write_scenario(tmp_path, "leaf/a.yaml", "name: a\nturns: [{audio: WAV}]\n")
    write_scenario(tmp_path, "leaf/b.yaml", "name: b\nmodel: gpt-realtime-mini\nturns: [{audio: WAV}]\n")
    write_scenario(
        tmp_path, "inner.yaml", "defaults: {model: inner-model, tags: [inner]}\ninclude: ['leaf/*.yaml']\n"
    )
    outer = write_scenario(
        tmp_path, "outer.yaml", "defaults: {model: outer-model, target: local}\ninclude: [inner.yaml]\n"
    )
    loaded = load_file(outer)
    assert loaded.problems == []
    assert [(s.name, s.model, s.target, s.tags) for s in loaded.scenarios] == [
        ("a", "inner-model", "local", ["inner"]),
        ("b", "gpt-realtime-mini", "local", ["inner"]),
    ]
    # Relative audio paths stay relative to the file that holds the turn.
    assert loaded.scenarios[0].source == tmp_path / "leaf" / "a.yaml"


def test_a_folder_run_skips_files_a_suite_includes(
    tmp_path: Path, write_scenario: Callable[..., Path]
) -> None:
    write_scenario(tmp_path, "parts/a.yaml", "name: a\nturns: [{audio: WAV}]\n")
    write_scenario(tmp_path, "all.yaml", "defaults: {tags: [all]}\ninclude: [parts/a.yaml]\n")
    write_scenario(tmp_path, "z.yaml", "name: z\nturns: [{audio: WAV}]\n")
    assert [(s.name, s.tags) for s in load_scenarios([tmp_path])] == [("a", ["all"]), ("z", [])]


def test_include_problems_name_the_include_line(tmp_path: Path, write_scenario: Callable[..., Path]) -> None:
    write_scenario(tmp_path, "loop_a.yaml", "include: [loop_b.yaml]\n")
    write_scenario(tmp_path, "loop_b.yaml", "scenarios: []\ninclude:\n  - nothing/*.yaml\n  - loop_a.yaml\n")
    checked = check([tmp_path / "loop_a.yaml"])
    assert checked.problems == [
        f"{tmp_path / 'loop_b.yaml'}:3:5: include[0]: no file matches 'nothing/*.yaml'; "
        "paths are relative to this file",
        f"{tmp_path / 'loop_b.yaml'}:4:5: include[1]: include cycle (loop_a.yaml -> loop_b.yaml -> "
        "loop_a.yaml); remove one of the includes",
    ]


def test_errors_inside_a_suite_point_into_it(tmp_path: Path, write_scenario: Callable[..., Path]) -> None:
    path = write_scenario(
        tmp_path,
        "s.yaml",
        "defaults:\n  turn_expect: {max_input_wer: -1}\nscenarios:\n  - name: a\n    turns:\n"
        "      - audio: missing.wav\n  - name: b\n    turns: [{mode: push, audio: WAV}]\n",
    )
    with pytest.raises(ScenarioError) as caught:
        load_scenarios([path])
    assert caught.value.problems == [
        f"{path}:2:32: defaults.turn_expect.max_input_wer: Input should be greater than or equal to 0",
        f"{path}:8:20: scenarios[1].turns[0].mode: Input should be 'manual' or 'vad'",
    ]
    fixed = path.read_text().replace("-1}", "0.5}").replace("mode: push", "mode: vad")
    path.write_text(fixed)
    with pytest.raises(ScenarioError) as caught:
        load_scenarios([path])
    assert caught.value.problems[0].startswith(f"{path}:6:16: scenarios[0].turns[0].audio: file not found: ")


def test_a_suite_needs_content_and_names_stay_unique(
    tmp_path: Path, write_scenario: Callable[..., Path]
) -> None:
    empty = write_scenario(tmp_path, "empty.yaml", "suite: nothing\n")
    assert load_file(empty).problems == [f"{empty}:1:1: <document>: a suite needs `scenarios` or `include`"]
    write_scenario(tmp_path, "x/one.yaml", "scenarios:\n  - {name: same, turns: [{audio: WAV}]}\n")
    write_scenario(tmp_path, "x/two.yaml", "name: same\nturns: [{audio: WAV}]\n")
    with pytest.raises(ScenarioError, match=r"'same' is also used by .*one\.yaml"):
        load_scenarios([tmp_path / "x"])
