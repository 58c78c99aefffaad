"""examples/github-actions.yml stays in step with the CLI and the files a run writes."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

from harness.report.render import render_run

if TYPE_CHECKING:
    from tests.support.cli import Cli
    from tests.support.reports import ReportFactory


@pytest.fixture
def workflow(repo_root: Path) -> Path:
    return repo_root / "examples" / "github-actions.yml"


def rth_commands(workflow: Path) -> list[list[str]]:
    steps = [step for job in yaml.safe_load(workflow.read_text())["jobs"].values() for step in job["steps"]]
    script = "\n".join(str(step.get("run", "")) for step in steps).replace("\\\n", " ")
    return [shlex.split(line.strip())[1:] for line in script.splitlines() if line.strip().startswith("rth ")]


def test_every_rth_command_in_the_workflow_is_accepted(workflow: Path, run_cli: Cli) -> None:
    commands = rth_commands(workflow)
    assert {command[0] for command in commands} == {"run", "compare"}
    for command in commands:
        result = run_cli(*command, "--help")  # parses every option, runs nothing
        assert result.exit_code == 0, (command, result.output)


def test_the_workflow_publishes_files_that_a_run_writes(
    tmp_path: Path, workflow: Path, reports: ReportFactory
) -> None:
    text = workflow.read_text()
    rendered = render_run(reports.write_run(tmp_path))
    for path in (rendered.summary, rendered.junit):
        assert f"/{path.name}" in text
    assert "GITHUB_STEP_SUMMARY" in text and "upload-artifact" in text
