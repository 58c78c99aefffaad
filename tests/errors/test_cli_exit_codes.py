"""Every command maps errors the same way: a usage problem exits 2 with one line naming the option or
file and the fix, a failed run exits 1, a bug of ours exits 1 with one line. No case here connects."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from harness.errors import ConnectError

if TYPE_CHECKING:
    from tests.support.cli import Cli
    from tests.support.reports import ReportFactory

SMOKE = "scenarios/smoke.yaml"  # the CLI runs from the repository root


@pytest.fixture
def error_line(run_cli: Cli) -> Callable[[list[str], int], str]:
    def run(args: list[str], code: int) -> str:
        return _one_error_line(run_cli, args, code)

    return run


def _one_error_line(run_cli: Cli, args: list[str], code: int) -> str:
    return run_cli(*args).one_error_line(code)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", SMOKE, "--tag", "nope"], "--tag nope: no scenario has that tag"),
        (["run", SMOKE, "--matrix", "pitch=1,2"], "--matrix 'pitch=1,2'"),
        (["run", SMOKE, "--matrix", "speed=1,3"], "--matrix speed=3: Input should be less than or equal"),
        (["run", "missing.yaml"], "missing.yaml: no such file or directory"),
        (["serve", "--voice", "robot"], "unknown --voice 'robot'; use one of"),
        (["serve", "--port", "70000"], "port must be 0..65535, got 70000; pick another --port"),
        (["validate", "missing.yaml"], "missing.yaml: no such file or directory"),
        (["report", "docs"], "not a run directory (no report.json)"),
        (["compare", "docs"], "not a run directory (no report.json)"),
    ],
    ids=lambda value: " ".join(value[:2]) if isinstance(value, list) else None,
)
def test_usage_problems_exit_2_with_one_line(
    args: list[str], expected: str, tmp_path: Path, error_line: Callable[[list[str], int], str]
) -> None:
    line = error_line([*args, *(["--out", str(tmp_path)] if args[0] == "run" else [])], 2)
    assert expected in line


def test_a_bad_persona_file_stops_serve_before_it_listens(
    tmp_path: Path, error_line: Callable[[list[str], int], str]
) -> None:
    persona = tmp_path / "persona.yaml"
    persona.write_text("rules: [\n")
    line = error_line(["serve", "--persona", str(persona)], 2)
    assert f"{persona}: not valid YAML at line 2" in line and "fix the syntax" in line


def test_an_empty_serve_key_is_a_usage_error(error_line: Callable[[list[str], int], str]) -> None:
    assert "api_key is empty; set --api-key" in error_line(["serve", "--api-key", " "], 2)


def test_a_url_target_without_key_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error_line: Callable[[list[str], int], str]
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    args = ["run", SMOKE, "--target", "http://127.0.0.1:9/v1", "--out", str(tmp_path)]
    assert "OPENAI_API_KEY is not set" in error_line(args, 2)


def test_compare_needs_two_configurations(
    tmp_path: Path, reports: ReportFactory, error_line: Callable[[list[str], int], str]
) -> None:
    run_dir = reports.write_run(tmp_path)
    assert "only one configuration to compare" in error_line(["compare", str(run_dir)], 2)


def test_a_failed_run_exits_1_and_a_bug_exits_1_with_one_line(
    monkeypatch: pytest.MonkeyPatch, error_line: Callable[[list[str], int], str]
) -> None:
    import harness.scenario

    def refuse(paths: object) -> object:
        raise ConnectError("the target hung up")

    monkeypatch.setattr(harness.scenario, "check", refuse)
    assert error_line(["validate", "x.yaml"], 1) == "rth: error: the target hung up"

    def crash(paths: object) -> object:
        raise KeyError("oops")

    monkeypatch.setattr(harness.scenario, "check", crash)
    monkeypatch.delenv("RTH_DEBUG", raising=False)
    line = error_line(["validate", "x.yaml"], 1)
    assert line.startswith("rth: error: internal error KeyError") and "RTH_DEBUG=1" in line
