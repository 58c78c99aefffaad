"""Local host of load workers: one process per worker, one event loop each (aiortc and the GIL cap
one process near one core). The driver talks to them through two queues: commands in (users,
rate, cap, stop), messages out (a snapshot every second; the sampled sessions' reports at the end).
They share the driver's disk, so sampled sessions write straight into the run directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import queue
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from multiprocessing.context import SpawnProcess
from typing import Any

from harness.load.host import WorkerHost
from harness.load.stats import WorkerSnapshot
from harness.load.worker import LoadWorker, WorkerConfig
from harness.report.model import ScenarioReport
from harness.runner.workers import leave_signals_to_parent

logger = logging.getLogger(__name__)

SNAPSHOT_S = 1.0
READY_TIMEOUT_S = 120.0  # every worker process imported and running by then
Message = tuple[str, str, Any]  # (kind, worker, payload)


def worker_main(config: WorkerConfig, commands: Any, messages: Any) -> None:
    """A worker process: Ctrl-C and SIGTERM are the driver's to handle (it stops the workers and
    keeps the data)."""
    leave_signals_to_parent()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_serve(config, commands, messages))


async def _serve(config: WorkerConfig, commands: Any, messages: Any) -> None:
    worker = LoadWorker(config)
    loop = asyncio.get_running_loop()
    running = asyncio.create_task(worker.run())

    async def obey() -> None:
        while not running.done():
            try:
                kind, value = await loop.run_in_executor(None, commands.get, True, 0.5)
            except queue.Empty:
                continue
            worker.command(kind, value)

    async def report() -> None:
        while not running.done():
            await asyncio.sleep(SNAPSHOT_S)
            messages.put(("snapshot", config.worker, worker.snapshot().to_dict()))

    messages.put(("ready", config.worker, None))
    tasks = [asyncio.create_task(obey()), asyncio.create_task(report())]
    try:
        samples = await running
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    messages.put(("snapshot", config.worker, worker.meter.snapshot(done=True).to_dict()))
    messages.put(("samples", config.worker, [s.model_dump(mode="json") for s in samples]))


@dataclass
class _Handle:
    process: SpawnProcess
    commands: Any


class LocalWorkers(WorkerHost):
    """Worker processes on this machine (its one node)."""

    def __init__(self, configs: Sequence[WorkerConfig]) -> None:
        super().__init__(configs)
        self._context = multiprocessing.get_context("spawn")
        self._messages: Any = self._context.Queue()
        self._handles: dict[str, _Handle] = {}
        self._early: list[Message] = []  # read while waiting for every worker to be ready

    async def start(self) -> None:
        """Spawn the processes; return once each one runs its loop (or died), so the run's clock
        starts with the workers, not with their imports."""
        node = os.uname().nodename
        for config in self.configs:
            commands = self._context.Queue()
            process = self._context.Process(
                target=worker_main, args=(config, commands, self._messages), name=f"rth-{config.worker}"
            )
            process.start()
            self._handles[config.worker] = _Handle(process, commands)
            self.nodes[config.worker] = node
        loop = asyncio.get_running_loop()
        waiting, deadline = set(self.workers), loop.time() + READY_TIMEOUT_S
        while waiting - set(self.lost()) and loop.time() < deadline:
            try:
                message = await loop.run_in_executor(None, self._messages.get, True, 0.5)
            except queue.Empty:
                continue
            if message[0] == "ready":
                waiting.discard(message[1])
            else:
                self._early.append(message)

    def send(self, worker: str, kind: str, value: float | None = None) -> None:
        handle = self._handles[worker]
        if handle.process.is_alive():
            handle.commands.put((kind, value))

    async def messages(self, timeout: float) -> AsyncIterator[WorkerSnapshot]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._early:
            if (snapshot := self._received(self._early.pop(0))) is not None:
                yield snapshot
        while (left := deadline - loop.time()) > 0:
            try:
                message = await loop.run_in_executor(None, self._messages.get, True, left)
            except queue.Empty:
                return
            if (snapshot := self._received(message)) is not None:
                yield snapshot

    def _received(self, message: Message) -> WorkerSnapshot | None:
        kind, worker, payload = message
        if kind == "samples":
            self.samples[worker] = [ScenarioReport.model_validate(s) for s in payload]
            self.finished.add(worker)
        return WorkerSnapshot.from_dict(payload) if kind == "snapshot" else None

    def lost(self) -> list[str]:
        return [
            name
            for name, handle in self._handles.items()
            if not handle.process.is_alive() and name not in self.finished
        ]

    async def close(self) -> None:
        self.stop()
        loop = asyncio.get_running_loop()
        for handle in self._handles.values():
            await loop.run_in_executor(None, handle.process.join, 15)
            if handle.process.is_alive():
                handle.process.terminate()
        with contextlib.suppress(Exception):
            self._messages.close()
