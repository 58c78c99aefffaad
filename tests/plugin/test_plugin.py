"""The pytest plugin (entry point pytest11): collection rules, then the smoke suite run as tests.

Each case runs pytest in a subprocess, as a user would. One real run (module fixture) covers the
YAML items, a scenario with its own persona, a failing scenario's report, a Python test on the
``realtime_session`` fixture and the run directory that ``--rth-report`` keeps.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.support.cli import Cli, CliResult

SAY_SCENARIO = "name: {name}\nturns:\n  - name: greet\n    say: Hello there.\n"

PYTHON_TEST = """
from pathlib import Path

WAV = Path({wav!r})


async def test_session_answers_spoken_question(realtime_session, rth_server):
    assert rth_server.base_url.startswith("http://127.0.0.1:")
    assert realtime_session.call_id in rth_server.open_calls
    await realtime_session.play(WAV)
    await realtime_session.send({{"type": "input_audio_buffer.commit"}})
    await realtime_session.send({{"type": "response.create"}})
    done = await realtime_session.wait_for("response.done", timeout=30)
    assert done["response"]["status"] == "completed"
"""

SCRIPTED = """name: scripted
persona: {persona}
turns:
  - name: weather
    say: What is the weather like?
    reply: It is sunny and mild today.
    expect: {{max_output_wer: 0.0}}
"""

FAILING = """name: failing
turns:
  - name: greet
    say: Hello there.
    actions: [create_response, {wait_for: response.done}]
    expect: {response_status: failed}
"""


@pytest.fixture(scope="module")
def pytest_run(run_cli: Cli) -> Callable[..., CliResult]:
    """``python -m pytest -p no:cacheprovider ARGS`` in a subprocess, from ``cwd``."""

    def run(*args: str, cwd: Path, timeout: float = 240) -> CliResult:
        return run_cli("-p", "no:cacheprovider", *args, module="pytest", cwd=cwd, timeout=timeout)

    return run


def collected(result: CliResult) -> list[str]:
    return [line for line in result.stdout.splitlines() if "::" in line]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project with scenarios/, a CI file that is YAML but no scenario, and scenario-like test data."""
    (tmp_path / "pytest.ini").write_text("[pytest]\ntestpaths = tests\n")
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "hello.yaml").write_text(SAY_SCENARIO.format(name="hello"))
    (tmp_path / "scenarios" / "ci.yml").write_text("jobs:\n  test: {runs-on: ubuntu-latest}\n")
    (tmp_path / "scenarios" / "suite.yaml").write_text(
        "suite: pair\nscenarios:\n"
        + "".join(f"  - name: {n}\n    turns: [{{say: hi}}]\n" for n in ("s1", "s2"))
    )
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "data.yaml").write_text(SAY_SCENARIO.format(name="test_data"))
    (tmp_path / "tests" / "test_nothing.py").write_text("def test_ok():\n    pass\n")
    return tmp_path


def test_collects_yaml_scenarios_only_where_asked(
    project: Path, pytest_run: Callable[..., CliResult]
) -> None:
    named = pytest_run("--collect-only", "-q", "scenarios", "tests", cwd=project)
    assert named.exit_code == 0, named.output
    assert collected(named) == [
        "scenarios/hello.yaml::hello",
        "scenarios/suite.yaml::s1",
        "scenarios/suite.yaml::s2",
        "tests/test_nothing.py::test_ok",
    ]
    default = pytest_run("--collect-only", "-q", cwd=project)  # testpaths only: no YAML items
    assert collected(default) == ["tests/test_nothing.py::test_ok"]
    explicit = pytest_run("--collect-only", "-q", "tests/data.yaml", cwd=project)
    assert collected(explicit) == ["tests/data.yaml::test_data"]


def test_a_broken_scenario_is_a_collection_error_with_its_location(
    project: Path, pytest_run: Callable[..., CliResult]
) -> None:
    (project / "scenarios" / "broken.yaml").write_text("name: broken\nturns:\n  - sya: typo\n")
    result = pytest_run("--collect-only", "-q", "scenarios/broken.yaml", cwd=project)
    assert result.exit_code == 2
    assert "broken.yaml:3:" in result.stdout and "sya" in result.stdout
    assert "Traceback" not in result.stdout


@pytest.fixture(scope="module")
def smoke(
    tmp_path_factory: pytest.TempPathFactory,
    pytest_run: Callable[..., CliResult],
    repo_root: Path,
    audio_fixtures: Path,
    relaxed_suite: Callable[[str], Path],
) -> tuple[CliResult, Path]:
    """`pytest smoke.yaml scripted.yaml failing.yaml test_python.py --rth-report DIR` (the smoke
    suite with room in its latency budget: tests/support/budgets.py)."""
    work = tmp_path_factory.mktemp("plugin")
    persona = repo_root / "examples/personas/restaurant.yaml"
    (work / "scripted.yaml").write_text(SCRIPTED.format(persona=persona))
    (work / "failing.yaml").write_text(FAILING)
    (work / "test_python.py").write_text(
        PYTHON_TEST.format(wav=str(audio_fixtures / "weather_paris.wav"))
    )
    result = pytest_run(
        "-c",  # the project's configuration (asyncio mode), though no argument lies in the project
        str(repo_root / "pyproject.toml"),
        str(relaxed_suite("smoke.yaml")),
        str(work / "scripted.yaml"),
        str(work / "failing.yaml"),
        str(work / "test_python.py"),
        "--rth-report",
        str(work / "reports"),
        f"--junitxml={work / 'outer.xml'}",
        "-v",
        cwd=repo_root,
    )
    return result, work


def outcomes(work: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for case in ET.parse(work / "outer.xml").getroot().iter("testcase"):
        failed = case.find("failure") is not None or case.find("error") is not None
        found[str(case.get("name"))] = "failed" if failed else "passed"
    return found


def test_smoke_suite_runs_as_test_items(smoke: tuple[CliResult, Path]) -> None:
    result, work = smoke
    assert "::smoke PASSED" in result.stdout, result.output  # a file outside the rootdir: no path
    assert outcomes(work) == {
        "smoke": "passed",
        "scripted": "passed",  # its persona reached the stand-in with its call
        "failing": "failed",
        "test_session_answers_spoken_question": "passed",
    }
    assert result.exit_code == 1  # the failing scenario


def test_a_failing_scenario_says_what_failed(smoke: tuple[CliResult, Path]) -> None:
    result, _ = smoke
    assert "scenario failing failed (expectation)" in result.stdout
    verdict = next(line for line in result.stdout.splitlines() if "turn greet: response_status" in line)
    assert "completed" in verdict and "failed" in verdict  # measured and expected, as Verdict.describe()
    assert "user heard: 'Hello there.'" in result.stdout
    assert "Traceback" not in result.stdout


def test_rth_report_keeps_a_rendered_run_directory(
    smoke: tuple[CliResult, Path],
) -> None:
    result, work = smoke
    runs = [p for p in (work / "reports").iterdir() if p.is_dir() and not p.is_symlink()]
    assert len(runs) == 1
    run_dir = runs[0]
    assert f"rth report: {run_dir / 'index.html'}" in result.stdout
    for name in ("report.json", "timeline.jsonl", "junit.xml", "summary.md", "index.html"):
        assert (run_dir / name).is_file(), name
    assert (run_dir / "audio" / "smoke" / "00-weather.received.wav").is_file()
    junit = ET.parse(run_dir / "junit.xml").getroot()
    assert (junit.get("tests"), junit.get("failures")) == ("5", "1")
