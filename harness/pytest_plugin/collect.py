"""YAML scenarios as pytest items: ``pytest scenarios/`` runs each scenario as one test.

Only YAML named on the command line (or found in folders named there) is collected, and only
when it looks like a scenario (``name`` + ``turns``) or a suite (``scenarios`` / ``include``), so
a project's own fixtures and CI files never turn into tests. Folders of ``testpaths`` (the
project's test suite) are skipped unless a file in them is named explicitly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from harness.errors import HarnessError, UsageError
from harness.pytest_plugin.state import state_of

if TYPE_CHECKING:
    from harness.report.model import ScenarioReport
    from harness.scenario import Scenario

YAML_SUFFIXES = (".yaml", ".yml")


def looks_like_scenario(path: Path) -> bool:
    """A mapping with ``name`` and ``turns``, or a suite; anything unreadable is not ours."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    if not isinstance(data, dict):
        return False
    return ("name" in data and "turns" in data) or "scenarios" in data or "include" in data


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def requested(config: pytest.Config, path: Path) -> bool:
    """Was this file (or a folder holding it) named on the command line, outside testpaths?"""
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        return False
    named = [Path(config.invocation_params.dir, arg.split("::")[0]).resolve() for arg in config.args]
    path = path.resolve()
    if path in named:
        return True
    testpaths = [Path(config.rootpath, p).resolve() for p in config.getini("testpaths")]
    if any(_inside(path, tests) for tests in testpaths):
        return False
    return any(_inside(path, arg) for arg in named)


class ScenarioFailed(HarnessError):
    """The scenario ran but an expectation failed or a turn errored (the report says which)."""

    def __init__(self, report: ScenarioReport) -> None:
        super().__init__(report.name)
        self.report = report


def describe_failure(report: ScenarioReport) -> str:
    """One line per failed turn or check, like the run table: what failed and by how much."""
    lines = [f"scenario {report.name} failed" + (f" ({report.failure_kind})" if report.failure_kind else "")]
    if report.error:
        lines.append(f"  session: {report.error}")
    for turn in report.turns:
        if turn.error:
            lines.append(f"  turn {turn.name}: {turn.error}")
        for verdict in turn.verdicts:
            if not verdict.passed:
                lines.append(f"  turn {turn.name}: {verdict.describe()}")
        if not turn.passed and turn.user_transcript is not None:
            lines.append(
                f"    user heard: {turn.user_transcript!r}; assistant: {turn.assistant_transcript!r}"
            )
    lines += [f"  scenario: {v.describe()}" for v in report.verdicts if not v.passed]
    return "\n".join(lines)


class ScenarioItem(pytest.Item):
    """One scenario: connect, run every turn, pass when every expectation is met."""

    def __init__(self, *, scenario: Scenario, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        for tag in getattr(scenario, "tags", ()):
            self.keywords[tag] = True  # `pytest -k smoke` selects by scenario tag

    def runtest(self) -> None:
        state = state_of(self.config)
        report = asyncio.run(state.run_scenario(self.scenario))
        self.user_properties.append(("rth_instance", report.instance or report.name))
        if report.pooled_input_wer is not None:
            self.user_properties.append(("rth_input_wer", report.pooled_input_wer.wer))
        if not report.passed:
            raise ScenarioFailed(report)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | Any:
        if isinstance(excinfo.value, ScenarioFailed):
            return describe_failure(excinfo.value.report)
        if isinstance(excinfo.value, UsageError):  # a bad file, option or key: one line
            return f"rth: {excinfo.value}"
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"rth scenario {self.scenario.name}"


class ScenarioFile(pytest.File):
    """A scenario or suite file; its scenarios become items named after them."""

    def collect(self) -> Iterator[ScenarioItem]:
        from harness.scenario import load_file

        loaded = load_file(self.path)
        if loaded.problems:
            raise self.CollectError("\n".join(loaded.problems))
        for scenario in loaded.scenarios:
            yield ScenarioItem.from_parent(self, name=scenario.name, scenario=scenario)


def collect_file(file_path: Path, parent: pytest.Collector) -> ScenarioFile | None:
    if file_path.suffix not in YAML_SUFFIXES:
        return None
    if not requested(parent.config, file_path) or not looks_like_scenario(file_path):
        return None
    file: ScenarioFile = ScenarioFile.from_parent(parent, path=file_path)
    return file
