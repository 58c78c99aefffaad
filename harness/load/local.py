"""Local host of load workers: one process per worker, one event loop each (aiortc and the GIL cap
one process near one core). The driver talks to them through two queues: commands in (users,
rate, stop), messages out (a snapshot every second; the sampled sessions' reports at the end).

A Ray actor can host :class:`~harness.load.worker.LoadWorker` the same way: the class knows
nothing of processes or queues.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import queue
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from multiprocessing.context import SpawnProcess
from typing import Any

from harness.load.stats import WorkerSnapshot
from harness.load.worker import LoadWorker, WorkerConfig
from harness.report.model import ScenarioReport

logger = logging.getLogger(__name__)

SNAPSHOT_S = 1.0
Message = tuple[str, str, Any]  # (kind, worker, payload)


def worker_main(config: WorkerConfig, commands: Any, messages: Any) -> None:
    """A worker process: Ctrl-C is the driver's to handle (it stops the workers and keeps the data)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
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
            if kind == "users":
                worker.set_users(int(value))
            elif kind == "rate":
                worker.set_rate(float(value))
            elif kind == "stop":
                worker.stop()

    async def report() -> None:
        while not running.done():
            await asyncio.sleep(SNAPSHOT_S)
            messages.put(("snapshot", config.worker, worker.snapshot().to_dict()))

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


class LocalWorkers:
    """``async with LocalWorkers(configs) as workers``: processes started, stopped on exit."""

    def __init__(self, configs: list[WorkerConfig]) -> None:
        self.configs = configs
        self._context = multiprocessing.get_context("spawn")
        self._messages: Any = self._context.Queue()
        self._handles: dict[str, _Handle] = {}
        self.samples: dict[str, list[ScenarioReport]] = {}
        self.finished: set[str] = set()

    async def __aenter__(self) -> LocalWorkers:
        for config in self.configs:
            commands = self._context.Queue()
            process = self._context.Process(
                target=worker_main, args=(config, commands, self._messages), name=f"rth-{config.worker}"
            )
            process.start()
            self._handles[config.worker] = _Handle(process, commands)
        return self

    def send(self, worker: str, kind: str, value: float | int | None = None) -> None:
        handle = self._handles[worker]
        if handle.process.is_alive():
            handle.commands.put((kind, value))

    def stop(self) -> None:
        for worker in self._handles:
            self.send(worker, "stop")

    async def messages(self, timeout: float) -> AsyncIterator[WorkerSnapshot]:
        """Snapshots received within ``timeout`` s (sampled reports are kept on the side)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (left := deadline - loop.time()) > 0:
            try:
                kind, worker, payload = await loop.run_in_executor(None, self._messages.get, True, left)
            except queue.Empty:
                return
            if kind == "snapshot":
                yield WorkerSnapshot.from_dict(payload)
            elif kind == "samples":
                self.samples[worker] = [ScenarioReport.model_validate(s) for s in payload]
                self.finished.add(worker)

    def lost(self) -> list[str]:
        """Workers whose process died before sending their results."""
        return [
            name
            for name, handle in self._handles.items()
            if not handle.process.is_alive() and name not in self.finished
        ]

    @property
    def all_finished(self) -> bool:
        return all(name in self.finished or not h.process.is_alive() for name, h in self._handles.items())

    async def __aexit__(self, *exc_info: object) -> None:
        self.stop()
        loop = asyncio.get_running_loop()
        for handle in self._handles.values():
            await loop.run_in_executor(None, handle.process.join, 15)
            if handle.process.is_alive():
                handle.process.terminate()
        with contextlib.suppress(Exception):
            self._messages.close()
