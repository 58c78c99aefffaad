"""Where load workers run: one interface, two hosts.

:class:`~harness.load.local.LocalWorkers` runs each :class:`~harness.load.worker.LoadWorker` in a
process of this machine; :class:`~harness.load.ray_host.RayWorkers` runs each in a Ray actor,
anywhere in a cluster. The driver sees only this interface: it sends commands by worker name,
reads snapshots as they come, learns which workers finished (with their sampled sessions) and
which were lost, and knows each worker's node (for the per-node session cap).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence

from harness.load.stats import WorkerSnapshot
from harness.load.worker import WorkerConfig
from harness.report.model import ScenarioReport


class WorkerHost(ABC):
    """``async with host as workers``: the workers started, then stopped and cleaned up on exit."""

    def __init__(self, configs: Sequence[WorkerConfig]) -> None:
        self.configs = list(configs)
        self.samples: dict[str, list[ScenarioReport]] = {}  # by worker, once it finished
        self.finished: set[str] = set()
        self.nodes: dict[str, str] = {}  # worker -> node, known once started

    @property
    def workers(self) -> list[str]:
        return [config.worker for config in self.configs]

    async def __aenter__(self) -> WorkerHost:
        try:
            await self.start()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @abstractmethod
    async def start(self) -> None:
        """Start every worker; return once each one's node is known."""

    @abstractmethod
    async def close(self) -> None:
        """Stop the workers still running and release what the host holds."""

    @abstractmethod
    def send(self, worker: str, kind: str, value: float | None = None) -> None:
        """Forward a :meth:`LoadWorker.command` (dropped for a worker that is gone)."""

    @abstractmethod
    def messages(self, timeout: float) -> AsyncIterator[WorkerSnapshot]:
        """Snapshots received within ``timeout`` s; sampled sessions are kept in :attr:`samples`."""

    @abstractmethod
    def lost(self) -> list[str]:
        """Workers that died before sending their results."""

    def stop(self, grace_s: float | None = None) -> None:
        """Stop every worker; running sessions get ``grace_s`` to finish (None: the workers' own)."""
        for worker in self.alive():
            self.send(worker, "stop", grace_s)

    def alive(self) -> list[str]:
        gone = set(self.lost()) | self.finished
        return [worker for worker in self.workers if worker not in gone]

    @property
    def all_finished(self) -> bool:
        return not self.alive()
