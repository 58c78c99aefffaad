"""`rth run --repeat 2 --matrix voice=cedar,marin` against the stand-in: four sessions, each with
its own timeline and audio folder, the voice really sent, and a report that says how it was made."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.support.cli import Cli, CliResult

SCENARIO = """name: hello
session: {audio: {output: {voice: alloy}}}
turns:
  - name: greet
    say: Hello there.
    actions: [create_response, {wait_for: response.done}]
    expect: {response_status: completed}
"""


@pytest.fixture(scope="module")
def matrix_run(tmp_path_factory: pytest.TempPathFactory, run_cli: Cli) -> tuple[CliResult, Path, Path]:
    work = tmp_path_factory.mktemp("matrix")
    scenario = work / "hello.yaml"
    scenario.write_text(SCENARIO)
    result = run_cli(
        "run",
        str(scenario),
        "--out",
        str(work / "reports"),
        "--repeat",
        "2",
        "--matrix",
        "voice=cedar,marin",
        in_subprocess=True,
        timeout=300,
    )
    return result, (work / "reports" / "latest").resolve(), scenario


def report_of(run_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run_dir / "report.json").read_text())
    return data


def test_every_variant_and_repeat_ran_in_its_own_session(
    matrix_run: tuple[CliResult, Path, Path],
) -> None:
    result, run_dir, _ = matrix_run
    assert result.exit_code == 0, result.output
    sessions = report_of(run_dir)["scenarios"]
    assert [(s["instance"], s["voice"], s["repeat"]) for s in sessions] == [
        ("voice-cedar/hello/r1", "cedar", 0),
        ("voice-marin/hello/r1", "marin", 0),
        ("voice-cedar/hello/r2", "cedar", 1),
        ("voice-marin/hello/r2", "marin", 1),
    ]
    assert all(s["usage"]["responses"] == 1 for s in sessions)
    for session in sessions:
        assert (run_dir / "audio" / session["instance"] / "00-greet.received.wav").is_file()


def test_the_voice_of_each_variant_reached_the_server(
    matrix_run: tuple[CliResult, Path, Path],
) -> None:
    _, run_dir, _ = matrix_run
    voices: dict[str, set[str]] = {}
    for line in (run_dir / "timeline.jsonl").read_text().splitlines():
        entry = json.loads(line)
        if entry["kind"] == "received" and entry["type"] == "session.updated":
            voice = entry["data"]["session"]["audio"]["output"]["voice"]
            voices.setdefault(entry["session"].split("/")[0], set()).add(voice)
    assert voices == {"voice-cedar": {"cedar"}, "voice-marin": {"marin"}}


def test_terminal_shows_stability_and_comparison_then_the_html_path(
    matrix_run: tuple[CliResult, Path, Path],
) -> None:
    result, run_dir, _ = matrix_run
    assert "stability over repeats" in result.stdout
    assert (
        "pass@2" in result.stdout and "pass^2" in result.stdout and "mean of 1 scenario(s)" in result.stdout
    )
    rows = {(row["variant"], row["turn"]): row for row in report_of(run_dir)["stability"]}
    for variant in ("voice=cedar", "voice=marin"):
        row = rows[(variant, None)]
        assert len(row["pass_at_k"]) == len(row["pass_hat_k"]) == row["runs"] == 2
        assert row["pass_hat_k"][-1] <= row["passed"] / row["runs"] <= row["pass_at_k"][-1]
    assert "comparison (bootstrap 95% CI" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == f"html: {run_dir / 'index.html'}"


def test_report_records_config_files_and_environment(
    matrix_run: tuple[CliResult, Path, Path],
) -> None:
    _, run_dir, scenario = matrix_run
    report = report_of(run_dir)
    assert report["schema_version"] >= 2
    assert (report["repeat"], report["matrix"]) == (2, {"voice": ["cedar", "marin"]})
    assert (
        report["config"]["matrix"] == {"voice": ["cedar", "marin"]} and report["config"]["target"] == "local"
    )
    [recorded] = report["scenario_files"]
    assert recorded["sha256"] == hashlib.sha256(scenario.read_bytes()).hexdigest()
    assert recorded["text"] == SCENARIO
    assert report["environment"]["python"] == sys.version.split()[0]
    assert "aiortc" in report["environment"]["packages"]
    assert report["prices"]["as_of"] and report["usage"]["cost_usd"] > 0
