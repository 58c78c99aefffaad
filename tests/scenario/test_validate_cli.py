"""``rth validate`` and ``rth schema`` as a user sees them (in-process, no network)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.support.cli import Cli


def test_every_problem_is_one_line_naming_file_line_column(
    tmp_path: Path, audio_fixtures: Path, run_cli: Cli
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\nturns:\n  - audio: nowhere.wav\n    actions: [commit, {wait_for: response.don}]\n"
        "    expect: {bogus: 1}\n",
        encoding="utf-8",
    )
    good = tmp_path / "good.yaml"
    wav = audio_fixtures / "weather_paris.wav"
    good.write_text(f"name: good\nturns:\n  - audio: {wav}\n  - say: hi\n", encoding="utf-8")
    result = run_cli("validate", str(tmp_path))
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert lines == [
        f"{bad}:4:34: turns[0].actions[1].wait_for: 'response.don' is not a Realtime server event type; "
        "did you mean response.done or response.created?",
        f"{bad}:5:14: turns[0].expect.bogus: unknown field 'bogus': remove it or check the spelling "
        "(see `rth schema`)",
        "2 problem(s) in 2 file(s)",
    ]


def test_a_valid_folder_is_summarised(tmp_path: Path, audio_fixtures: Path, run_cli: Cli) -> None:
    wav = audio_fixtures / "weather_paris.wav"
    (tmp_path / "a.yaml").write_text(f"name: a\nturns:\n  - audio: {wav}\n  - say: hi\n", encoding="utf-8")
    result = run_cli("validate", str(tmp_path))
    assert result.exit_code == 0
    assert result.output.strip() == "1 file(s), 1 scenario(s), 2 turn(s): valid"


def test_missing_audio_is_reported_once_the_file_parses(tmp_path: Path, run_cli: Cli) -> None:
    (tmp_path / "a.yaml").write_text("name: a\nturns:\n  - audio: nowhere.wav\n", encoding="utf-8")
    result = run_cli("validate", str(tmp_path / "a.yaml"))
    assert result.exit_code == 2
    assert (
        f"{tmp_path / 'a.yaml'}:3:12: turns[0].audio: file not found: {tmp_path / 'nowhere.wav'}"
        in result.output
    )


def test_schema_is_printed_as_json(run_cli: Cli) -> None:
    result = run_cli("schema")
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema["anyOf"] == [{"$ref": "#/$defs/Scenario"}, {"$ref": "#/$defs/Suite"}]
