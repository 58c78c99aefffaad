"""One pytest session's rth state: options, the shared stand-in, and the run directory.

YAML items add their sessions to one run (one report.json, timeline and audio folder for the
whole pytest session). With ``--rth-report DIR`` it is kept and rendered like ``rth run`` does;
without, it lives in a temporary folder removed at the end.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from harness.protocol import DEFAULT_MODEL

if TYPE_CHECKING:  # the runner pulls in aiortc: imported when a test first needs it
    from harness.client import Target
    from harness.pytest_plugin.standin import BackgroundStandIn
    from harness.report.model import ScenarioReport
    from harness.runner.suite import RunOptions, SuiteRun
    from harness.scenario import Scenario

LOCAL_TARGET = "local"


@dataclass
class RthState:
    target: str = LOCAL_TARGET
    connect: str = "unified"
    model: str = DEFAULT_MODEL
    report_dir: Path | None = None
    standin: BackgroundStandIn | None = None
    run: SuiteRun | None = None
    scenarios: list[Scenario] = field(default_factory=list)
    _temp: Path | None = None

    @classmethod
    def from_config(cls, config: pytest.Config) -> RthState:
        report = config.getoption("rth_report")
        return cls(
            target=config.getoption("rth_target"),
            connect=config.getoption("rth_connect"),
            model=config.getoption("rth_model"),
            report_dir=Path(report) if report else None,
        )

    def options(self, out: Path, *, render: bool) -> RunOptions:
        from harness.client import ConnectMode
        from harness.runner.suite import RunOptions

        return RunOptions(
            target=self.target, connect=ConnectMode(self.connect), out=out, model=self.model, render=render
        )

    def server(self) -> BackgroundStandIn:
        from harness.pytest_plugin.standin import BackgroundStandIn

        if self.standin is None:
            self.standin = BackgroundStandIn().start()
        return self.standin

    def resolve_target(self) -> Target:
        """The stand-in for ``--rth-target local``, else the URL with ``OPENAI_API_KEY``."""
        from harness.runner.suite import remote_target

        if self.target == LOCAL_TARGET:
            return self.server().target(self.model)
        return remote_target(self.options(Path("."), render=False))

    def suite_run(self) -> SuiteRun:
        from harness.runner.suite import SuiteRun

        if self.run is None:
            out = self.report_dir
            if out is None:
                out = self._temp = Path(tempfile.mkdtemp(prefix="rth-pytest-"))
            self.run = SuiteRun(self.options(out, render=self.report_dir is not None), self.scenarios)
        return self.run

    async def run_scenario(self, scenario: Scenario) -> ScenarioReport:
        from harness.runner.plan import PlannedRun, Variant

        run = self.suite_run()
        standin = self.server() if self.target == LOCAL_TARGET else None
        return await run.run(PlannedRun(scenario, Variant(), 0, 1), self.resolve_target(), standin)

    def close(self) -> Path | None:
        """Finish the run (render when kept), stop the stand-in; the kept run directory, if any."""
        kept = None
        if self.run is not None:
            self.run.finish()
            kept = self.run.path if self.report_dir is not None else None
        if self.standin is not None:
            self.standin.stop()
        if self._temp is not None:
            shutil.rmtree(self._temp, ignore_errors=True)
        return kept


STATE_KEY = pytest.StashKey[RthState]()


def state_of(config: pytest.Config) -> RthState:
    return config.stash[STATE_KEY]
