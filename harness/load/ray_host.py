"""Load workers as Ray actors (``rth load --ray ADDRESS``): the one module that imports Ray.

``--ray local`` starts a Ray instance on this machine for the run; any other address (``auto``,
``ray://head:10001``, ``head:6379``) joins that cluster. Each worker is an async actor
(``num_cpus=1``, placed with the ``SPREAD`` strategy) hosting a
:class:`~harness.load.remote.RemoteWorker`, the same :class:`~harness.load.worker.LoadWorker` as
a local worker process. The driver polls every actor for a snapshot every ``SNAPSHOT_S`` seconds;
each actor's ``run`` call returns, at the end, its final snapshot, its sampled sessions and their
files. An actor whose calls fail with ``RayActorError`` (killed, out of memory, node gone) is
lost: the driver ends its live sessions as ``worker_lost`` and goes on with the others.

A local instance stays on loopback: Ray's node address is 127.0.0.1 (Ray's single-machine mode,
``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``, which also binds every Ray server to 127.0.0.1), usage
statistics are off, and Ray's cloud-metadata probes (its dashboard process asks 169.254.169.254
and metadata.google.internal which cloud it runs on, whatever the usage-statistics setting) are
sent to a closed loopback port through an HTTP proxy setting that only the processes Ray starts
see. Ray is imported only after those settings, hence the imports inside functions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from harness.errors import TargetError, UsageError
from harness.load.bundle import ScenarioInputs, land_outputs, pack_inputs
from harness.load.host import WorkerHost
from harness.load.remote import RemoteWorker
from harness.load.stats import WorkerSnapshot
from harness.load.worker import WorkerConfig
from harness.report.model import ScenarioReport

logger = logging.getLogger(__name__)

LOCAL = "local"
SNAPSHOT_S = 2.0  # how often the driver asks each actor for its snapshot
PLACE_TIMEOUT_S = 120.0  # every actor placed and built by then, or the run stops
NAMESPACE = "rth"
LOOPBACK_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}
CLOSED_PROXY = "http://127.0.0.1:9"  # nothing listens on the discard port: refused at once
LOOPBACK_HOSTS = "127.0.0.1,localhost,::1"


def _import_ray(local: bool) -> ModuleType:
    if local:
        if "ray" in sys.modules and any(os.environ.get(k) != v for k, v in LOOPBACK_ENV.items()):
            raise UsageError("--ray local: Ray was imported before rth could keep it on loopback")
        os.environ.update(LOOPBACK_ENV)
    import ray

    return ray


@contextlib.contextmanager
def _spawn_env(local: bool) -> Iterator[None]:
    """While Ray starts its processes: HTTP to anything but loopback goes to a closed port."""
    if not local:
        yield
        return
    saved = {key: os.environ.get(key) for key in ("http_proxy", "no_proxy")}
    os.environ["http_proxy"] = CLOSED_PROXY
    os.environ["no_proxy"] = ",".join(filter(None, (LOOPBACK_HOSTS, saved["no_proxy"])))
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class RayCluster:
    """This process's connection to Ray: started here (``local``, shut down on close) or joined."""

    def __init__(self, ray: ModuleType, started: bool) -> None:
        self.ray = ray
        self.started = started

    @classmethod
    def connect(cls, address: str, local_cpus: int) -> RayCluster:
        """Join ``address`` (``local``: start an instance with ``local_cpus`` CPUs). A process
        already connected (a test's module-wide instance) keeps its connection.

        Blocking, on purpose on the calling thread: Ray ties the processes it starts to the
        thread that starts them (``PR_SET_PDEATHSIG``), so started from a pool thread they would
        be killed when that thread ends, and the driver with them."""
        local = address == LOCAL
        ray = _import_ray(local)
        if ray.is_initialized():
            return cls(ray, started=False)
        options: dict[str, Any] = {"namespace": NAMESPACE, "log_to_driver": False}
        if local:
            options.update(num_cpus=local_cpus, include_dashboard=False, _node_ip_address="127.0.0.1")
            # Ray runs workers at niceness 15: under contention they would measure their own
            # starvation against the stand-in and the driver at 0.
            options["_system_config"] = {"worker_niceness": 0}
        try:
            with _spawn_env(local):
                # ERROR: Ray's start-up notes would break into the live view; its errors still show
                ray.init(address=address, logging_level=logging.ERROR, **options)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise TargetError(f"--ray {address}: cannot join the Ray cluster: {first}") from None
        return cls(ray, started=True)

    def cpus(self) -> int:
        return int(self.ray.cluster_resources().get("CPU", 0))

    async def close(self) -> None:
        if self.started:
            await asyncio.to_thread(self.ray.shutdown)


class RayWorker(RemoteWorker):
    """The actor class (wrapped by ``ray.remote`` on the driver, imported by name on the nodes)."""

    def __init__(self, config: WorkerConfig, inputs: ScenarioInputs) -> None:
        import ray

        if os.environ.get("http_proxy") == CLOSED_PROXY:
            del os.environ["http_proxy"]  # meant for Ray's own probes, not for the sessions' HTTP
        _normal_priority()
        super().__init__(config, inputs, node=ray.get_runtime_context().get_node_id())


def _normal_priority() -> None:
    """Back to niceness 0 on every thread, where allowed (a cluster started without
    ``RAY_worker_niceness=0`` runs its workers at 15; raising it needs privileges)."""
    tasks = Path("/proc/self/task")
    for task in tasks.iterdir() if tasks.is_dir() else ():
        with contextlib.suppress(OSError, ValueError):
            if os.getpriority(os.PRIO_PROCESS, int(task.name)) > 0:
                os.setpriority(os.PRIO_PROCESS, int(task.name), 0)


def _last_line(exc: BaseException) -> str:
    """A Ray error's gist: the last line of the remote traceback it carries."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


class RayWorkers(WorkerHost):
    """One async actor per worker, anywhere in the cluster."""

    def __init__(self, configs: Sequence[WorkerConfig], cluster: RayCluster) -> None:
        super().__init__(configs)
        self.cluster = cluster
        self._actors: dict[str, Any] = {}
        self._pending: dict[asyncio.Future[Any], tuple[str, str]] = {}  # future -> (call, worker)
        self._polled: set[str] = set()  # workers with a snapshot call under way
        self._lost: list[str] = []
        self._next_poll = 0.0

    def _call(self, worker: str, call: str, *args: Any) -> None:
        ref = getattr(self._actors[worker], call).remote(*args)
        self._pending[asyncio.wrap_future(ref.future())] = (call, worker)

    async def start(self) -> None:
        ray = self.cluster.ray
        inputs = ray.put(pack_inputs(self.configs[0].scenarios))
        actor_class = ray.remote(RayWorker)
        placed: dict[asyncio.Future[Any], str] = {}
        for config in self.configs:
            actor = actor_class.options(
                name=None, num_cpus=1, scheduling_strategy="SPREAD", max_restarts=0
            ).remote(config, inputs)
            self._actors[config.worker] = actor
            placed[asyncio.wrap_future(actor.node.remote().future())] = config.worker
        done, pending = await asyncio.wait(placed, timeout=PLACE_TIMEOUT_S)
        for future in pending:
            future.cancel()
        if pending:
            raise TargetError(
                f"--ray: {len(pending)} of {len(placed)} workers were not placed within "
                f"{PLACE_TIMEOUT_S:.0f} s; the cluster has {self.cluster.cpus()} CPUs and each worker "
                "takes one: use fewer --workers or add nodes"
            )
        for future in done:
            worker = placed[future]
            if (error := future.exception()) is not None:
                raise TargetError(
                    f"--ray: worker {worker} could not start: {_last_line(error)} "
                    "(every node needs realtime-harness[ray] installed, the driver's version)"
                )
            self.nodes[worker] = future.result()
        for worker in self._actors:
            self._call(worker, "run")

    def send(self, worker: str, kind: str, value: float | None = None) -> None:
        if worker in self._actors and worker not in self._lost and worker not in self.finished:
            self._call(worker, "command", kind, value)

    def lost(self) -> list[str]:
        return list(self._lost)

    def _poll(self) -> None:
        for worker in self.alive():
            if worker not in self._polled:
                self._polled.add(worker)
                self._call(worker, "snapshot")

    async def messages(self, timeout: float) -> AsyncIterator[WorkerSnapshot]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (left := deadline - loop.time()) > 0:
            if loop.time() >= self._next_poll:
                self._poll()
                self._next_poll = loop.time() + SNAPSHOT_S
            if not self._pending:
                await asyncio.sleep(min(left, self._next_poll - loop.time()))
                continue
            wait = max(0.0, min(left, self._next_poll - loop.time()))
            done, _ = await asyncio.wait(self._pending, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
            for future in done:
                call, worker = self._pending.pop(future)
                snapshot = await self._received(call, worker, future)
                if snapshot is not None:
                    yield snapshot

    async def _received(self, call: str, worker: str, future: asyncio.Future[Any]) -> WorkerSnapshot | None:
        if call == "snapshot":
            self._polled.discard(worker)
        error = future.exception()
        if error is not None:
            if worker not in self.finished and worker not in self._lost:
                logger.warning("load worker %s lost: %s", worker, _last_line(error))
                self._lost.append(worker)
            return None
        result = future.result()
        if call == "snapshot":
            return WorkerSnapshot.from_dict(result)
        if call == "run":
            config = next(c for c in self.configs if c.worker == worker)
            await asyncio.to_thread(land_outputs, result["files"], config.run_dir)
            self.samples[worker] = [ScenarioReport.model_validate(s) for s in result["samples"]]
            self.finished.add(worker)
            return WorkerSnapshot.from_dict(result["snapshot"])
        return None

    async def close(self) -> None:
        for future in self._pending:
            if future.done():
                future.exception()  # retrieved: a lost actor's errors are reported, not warned about
            else:
                future.cancel()
        self._pending.clear()
        for actor in self._actors.values():
            with contextlib.suppress(Exception):
                self.cluster.ray.kill(actor)
