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
    from harness.pytest_plugin.standin import BackgroundStandIn
    from harness.report.model import ScenarioReport
    from harness.runner.options import RunOptions
    from harness.runner.run_dir import RunDirectory
    from harness.runner.targets import ResolvedTarget
    from harness.scenario import Scenario

LOCAL_TARGET = "local"


@dataclass
class RthState:
    target: str = LOCAL_TARGET
    connect: str = "unified"
    model: str = DEFAULT_MODEL
    report_dir: Path | None = None
    standin: BackgroundStandIn | None = None
    run: RunDirectory | None = None
    sessions: int = 0
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
        from harness.runner.options import RunOptions

        return RunOptions(
            target=self.target, connect=ConnectMode(self.connect), out=out, model=self.model, render=render
        )

    def server(self) -> BackgroundStandIn:
        from harness.pytest_plugin.standin import BackgroundStandIn

        if self.standin is None:
            self.standin = BackgroundStandIn().start()
        return self.standin

    def resolve_target(self, scenario: Scenario | None = None) -> ResolvedTarget:
        """Where ``scenario`` runs: its own ``target``, else ``--rth-target``; ``local`` is the
        shared stand-in, a URL goes with ``OPENAI_API_KEY`` (resolved as ``rth run`` does)."""
        import dataclasses

        from harness.runner.targets import ResolvedTarget, remote_target

        name = (scenario.target if scenario is not None else None) or self.target
        if name == LOCAL_TARGET:
            return ResolvedTarget(self.server().target(self.model), builtin=True)
        options = dataclasses.replace(self.options(Path("."), render=False), target=name)
        return ResolvedTarget(remote_target(options))

    def run_directory(self) -> RunDirectory:
        from harness.runner.run_dir import RunDirectory

        if self.run is None:
            out = self.report_dir
            if out is None:
                out = self._temp = Path(tempfile.mkdtemp(prefix="rth-pytest-"))
            self.run = RunDirectory(self.options(out, render=self.report_dir is not None), self.scenarios)
        return self.run

    async def run_scenario(self, scenario: Scenario) -> ScenarioReport:
        """One YAML item's session, added to the pytest session's run directory; its persona
        reaches our stand-in with its call. Scoring runs inline: items run one at a time, so no
        other session's audio is being paced."""
        from harness.client import ConnectMode
        from harness.runner.plan import PlannedRun, Variant
        from harness.runner.progress import NoObserver
        from harness.runner.session_run import run_session
        from harness.runner.workers import InlinePool

        run_dir = self.run_directory()
        self.sessions += 1
        return await run_session(
            PlannedRun(scenario, Variant(), 0, 1),
            self.resolve_target(scenario),
            run_dir,
            InlinePool(),
            NoObserver(),
            ConnectMode(self.connect),
            self.sessions,
        )

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
