"""A load worker hosted away from the driver's disk (a Ray actor), with plain-data methods.

The :class:`~harness.load.worker.LoadWorker` runs unchanged; around it, this class unpacks the
scenarios' files into a scratch folder of its own node, points the sampled sessions at a run
folder there, and at the end returns the final snapshot, the sampled sessions' reports and their
files, all as plain data (dicts, bytes) that cross machines. It imports nothing of Ray: the Ray
host (:mod:`harness.load.ray_host`) wraps it as an actor.

Every duration it reports is measured on this machine's monotonic clock; no timestamp is compared
with the driver's (machines' clocks differ, monotonic clocks do not even share an origin).
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import tempfile
from pathlib import Path
from typing import Any

from harness.load.bundle import ScenarioInputs, pack_outputs, unpack_inputs
from harness.load.worker import LoadWorker, WorkerConfig


class RemoteWorker:
    """One load worker; every method is async so an async Ray actor runs them on one loop."""

    def __init__(self, config: WorkerConfig, inputs: ScenarioInputs, node: str) -> None:
        self._scratch = Path(tempfile.mkdtemp(prefix=f"rth-remote-{config.worker}-"))
        scenarios = unpack_inputs(inputs, self._scratch / "inputs")
        self._run_dir = self._scratch / "run"
        self._run_dir.mkdir()
        self.worker = LoadWorker(dataclasses.replace(config, scenarios=scenarios, run_dir=self._run_dir))
        self.worker.meter.node = node

    async def node(self) -> str:
        """Where this worker runs (answered once it is placed and built)."""
        return self.worker.meter.node

    async def command(self, kind: str, value: float | None = None) -> None:
        self.worker.command(kind, value)

    async def snapshot(self) -> dict[str, Any]:
        return self.worker.snapshot().to_dict()

    async def run(self) -> dict[str, Any]:
        """Host the sessions until stopped; then the final snapshot, the sampled sessions' reports
        and the files they wrote (relative to the run directory)."""
        try:
            samples = await self.worker.run()
            snapshot = self.worker.meter.snapshot(done=True)
            files = await asyncio.to_thread(pack_outputs, self._run_dir)
            return {
                "snapshot": snapshot.to_dict(),
                "samples": [sample.model_dump(mode="json") for sample in samples],
                "files": files,
            }
        finally:
            shutil.rmtree(self._scratch, ignore_errors=True)
