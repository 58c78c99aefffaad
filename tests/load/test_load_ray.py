"""`rth load --ray`: the same load workers as Ray actors, on one local Ray instance for the module
(2 CPUs, loopback only), against the built-in stand-in over real loopback WebRTC. A short run
reports as a local run does; an actor killed mid-run fails its own sessions only, and the others
go on."""

from __future__ import annotations

import contextlib
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from harness.load import LoadOptions, parse_thresholds, run_load
from harness.load.ray_host import RayCluster
from harness.load.stats import LoadStats
from harness.runner import RunOptions
from harness.scenario import load_suite

if TYPE_CHECKING:
    from collections.abc import Callable

    CheckLoad = Callable[[dict[str, Any], Path, int, set[str]], None]


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[RayCluster]:
    """One local Ray instance for the module; run_load joins it instead of starting another."""
    cluster = RayCluster.connect("local", local_cpus=2)
    yield cluster
    cluster.ray.shutdown()


def options(out: Path, **fields: Any) -> LoadOptions:
    run = RunOptions(out=out, standin_load=True)
    return LoadOptions(run=run, workers=2, ray="local", score_sample=0.0, **fields)


class _Niceness:
    """The live view's seat: the niceness of each worker process while it runs."""

    def __init__(self) -> None:
        self.niceness: set[int] = set()

    def update(self, stats: LoadStats, target_users: int) -> None:
        for snapshot in stats.workers.values():
            with contextlib.suppress(ProcessLookupError):
                self.niceness.add(os.getpriority(os.PRIO_PROCESS, snapshot.pid))


async def test_a_short_load_on_ray_reports_as_a_local_one(
    ray_cluster: RayCluster, short_scenario: Path, tmp_path: Path, check_short_load: CheckLoad
) -> None:
    scenarios = load_suite([short_scenario]).scenarios
    thresholds = parse_thresholds(["first_audio_ms:p95<5000", "error_rate<0.5"])
    seen = _Niceness()
    report, run_dir, results = await run_load(
        scenarios, options(tmp_path, users=2, duration_s=8, thresholds=thresholds), seen
    )
    data = json.loads((run_dir / "report.json").read_text())
    check_short_load(data, run_dir, 2, {"w0", "w1"})
    assert all(result.passed for result in results) and report.load is not None and report.load.passed
    figures = data["load"]
    assert figures["ray"] == "local"
    node = ray_cluster.ray.get_runtime_context().get_node_id()
    assert {w["node"] for w in figures["workers"]} == {node}  # each actor names its Ray node
    assert os.getpid() not in {w["pid"] for w in figures["workers"]}  # actors, not this process
    assert seen.niceness == {0}  # as local worker processes, not Ray's default 15
    # The sampled session's files crossed from the actor: none is left in its scratch folder.
    assert all(
        (run_dir / turn["audio_received"]).stat().st_size > 1000 for turn in data["scenarios"][0]["turns"]
    )


class _KillOne:
    """The live view's seat: once w1 has sessions live and w0 has finished one, kill w1's process."""

    def __init__(self) -> None:
        self.killed_at: dict[str, int] | None = None
        self.w0_users_after = 0

    def update(self, stats: LoadStats, target_users: int) -> None:
        w0, w1 = stats.workers.get("w0"), stats.workers.get("w1")
        if self.killed_at is not None and w0:
            self.w0_users_after = max(self.w0_users_after, w0.users)
        if self.killed_at is None and w0 and w1 and w1.active >= 1 and w0.counters.sessions_completed >= 1:
            os.kill(w1.pid, signal.SIGKILL)
            self.killed_at = {
                "w0_started": w0.counters.sessions_started,
                "completed": stats.counters.sessions_completed,
            }


async def test_a_killed_actor_fails_its_own_sessions_only_and_the_run_goes_on(
    ray_cluster: RayCluster, short_scenario: Path, tmp_path: Path
) -> None:
    scenarios = load_suite([short_scenario]).scenarios
    killer = _KillOne()
    report, run_dir, _ = await run_load(scenarios, options(tmp_path, users=2, duration_s=16), killer)
    assert killer.killed_at is not None, "w0 never finished a session while w1 had one live"
    data = json.loads((run_dir / "report.json").read_text())
    figures = data["load"]
    # w1's one user had its session live at w1's last snapshot: that session, and no other, failed.
    assert figures["failures_by_kind"] == {"worker_lost": 1} and figures["sessions_failed"] == 1
    assert figures["workers_lost"] == ["w1"]
    by_worker = {w["worker"]: w for w in figures["workers"]}
    assert set(by_worker) == {"w0", "w1"}
    # The run went on: w0 took w1's user and finished more sessions after the kill.
    assert killer.w0_users_after == 2
    assert by_worker["w0"]["sessions_started"] > killer.killed_at["w0_started"]
    assert figures["sessions_completed"] > killer.killed_at["completed"]
    assert report.load is not None and not report.load.passed  # a lost worker fails the run
    (gone,) = [
        s for s in json.loads((run_dir / "report.json").read_text())["scenarios"] if s["name"] == "<w1>"
    ]
    assert gone["failure_kind"] == "worker_lost"
