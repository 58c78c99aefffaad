"""examples/github-actions.yml stays in step with the CLI and the files a run writes."""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml
from typer.testing import CliRunner

from harness.cli import app
from harness.report.render import render_run
from tests.report.synthetic import write_run

WORKFLOW = Path(__file__).resolve().parents[2] / "examples" / "github-actions.yml"


def rth_commands() -> list[list[str]]:
    steps = [step for job in yaml.safe_load(WORKFLOW.read_text())["jobs"].values() for step in job["steps"]]
    script = "\n".join(str(step.get("run", "")) for step in steps).replace("\\\n", " ")
    return [shlex.split(line.strip())[1:] for line in script.splitlines() if line.strip().startswith("rth ")]


def test_every_rth_command_in_the_workflow_is_accepted() -> None:
    commands = rth_commands()
    assert {command[0] for command in commands} == {"run", "compare"}
    for command in commands:
        result = CliRunner().invoke(app, [*command, "--help"])  # parses every option, runs nothing
        assert result.exit_code == 0, (command, result.output)


def test_the_workflow_publishes_files_that_a_run_writes(tmp_path: Path) -> None:
    text = WORKFLOW.read_text()
    rendered = render_run(write_run(tmp_path))
    for path in (rendered.summary, rendered.junit):
        assert f"/{path.name}" in text
    assert "GITHUB_STEP_SUMMARY" in text and "upload-artifact" in text
