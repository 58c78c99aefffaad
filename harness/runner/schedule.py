"""Run a plan with up to N sessions side by side and write the run directory.

Sessions start in plan order as slots free up (scenario x variant x repeat, see plan.py). Each one
is its own task: its failure is its report's, never the others'. Ctrl-C cancels them all; each
still scores what it measured, and the report (plan order) is written before the interrupt goes on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from harness.errors import ConnectError
from harness.report.model import FailureKind, RunReport, ScenarioReport
from harness.runner.options import RunOptions
from harness.runner.plan import PlannedRun, build_plan
from harness.runner.progress import NoObserver, RunObserver
from harness.runner.run_dir import RunDirectory
from harness.runner.session_run import run_session
from harness.runner.targets import TargetPool, open_target
from harness.runner.workers import ProcessPool, default_workers
from harness.scenario import Scenario


async def run_suite(
    scenarios: Sequence[Scenario], options: RunOptions, observer: RunObserver | None = None
) -> tuple[RunReport, Path]:
    """Run every planned session, ``options.concurrency`` at a time; return the report and the run
    directory (written on errors and Ctrl-C too)."""
    plan = build_plan(scenarios, options.repeat, options.matrix)
    watcher = observer or NoObserver()
    run_dir = RunDirectory(options, scenarios)
    interrupted = False
    try:
        async with (
            ProcessPool(default_workers(options.concurrency)) as pool,
            TargetPool(options, open_target) as targets,
        ):
            # Open every target and warm the workers before the first session: nothing measured
            # should include a start-up.
            for scenario in {p.scenario.target or options.target: p.scenario for p in plan}.values():
                await targets.get(scenario)
            await pool.wait_warm()
            slots = asyncio.Semaphore(max(1, options.concurrency))

            async def run_planned(position: int, planned: PlannedRun) -> None:
                async with slots:
                    resolved = await targets.get(planned.scenario)
                    await run_session(
                        planned,
                        resolved,
                        run_dir,
                        pool,
                        watcher,
                        options.connect,
                        position,
                        network=options.client_network,
                    )

            async with asyncio.TaskGroup() as group:
                for position, planned in enumerate(plan):
                    group.create_task(run_planned(position, planned), name=f"rth-session-{planned.instance}")
    except (asyncio.CancelledError, KeyboardInterrupt):
        interrupted = True
        raise
    except ConnectError as exc:  # a target that could not be opened at all
        failed = ScenarioReport(name="<target>", error=str(exc), failure_kind=FailureKind.CONNECT)
        run_dir.add(len(plan), failed)
    finally:
        report = run_dir.finish(interrupted=interrupted)
    return report, run_dir.path
