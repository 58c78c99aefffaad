"""``rth serve --workers N``: N stand-in processes on one port, each with its own event loop.

Why: one Python process tops out near one core (the GIL), and a load test needs the stand-in to
keep up with clients on several cores. The parent reserves the port (and one private control
port per worker, for forwarded hangups: see :mod:`harness.server.cluster`) with SO_REUSEPORT
sockets it binds but never listens on, so the port stays ours while the workers start and only
the workers' listening sockets get connections. Workers are plain subprocesses
(``python -m harness.server.workers``), as the ASR workers are: spawn would re-run the parent's
``__main__`` and fork is unsafe once aiortc threads exist. Each gets a :class:`WorkerSpec`
(pickled on stdin, which then stays open: a worker whose parent vanished sees end-of-file and
stops) and answers ``ready`` on stdout once it listens. Ctrl-C or SIGTERM to the parent stops
every worker (SIGTERM, then SIGKILL after :data:`STOP_TIMEOUT_S`); if a worker dies, the parent
stops the others and fails.

Linux only (SO_REUSEPORT balancing across processes); the in-process ``StandInServer`` is
always one process.
"""

from __future__ import annotations

import asyncio
import dataclasses
import pickle
import socket
from types import TracebackType

from harness.errors import HarnessError
from harness.server import child, playground
from harness.server.cluster import WorkerSpec
from harness.server.config import ServerConfig, api_base_url
from harness.server.keys import new_key_secret
from harness.server.server import StandInServer, stop_on_signals

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0


class WorkerError(HarnessError):
    """A worker failed to start or died."""


def _reserve(host: str, port: int) -> socket.socket:
    """Bind (never listen on) a SO_REUSEPORT socket: it holds the port for the workers.

    A plain bind first, so a port another server holds (SO_REUSEPORT or not) fails here with
    EADDRINUSE instead of being silently shared with it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
        port = probe.getsockname()[1]
    held = socket.socket(family, socket.SOCK_STREAM)
    held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    held.bind((host, port))
    return held


class WorkerPool:
    """``async with WorkerPool(config) as pool``: ``config.workers`` processes on one port."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.processes: list[asyncio.subprocess.Process] = []
        self._held: list[socket.socket] = []
        self._port: int | None = None

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT/v1``, the one URL of every worker."""
        if self._port is None:
            raise RuntimeError("the worker pool is not started")
        return api_base_url(self.config.host, self._port)

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self.processes]

    async def start(self) -> None:
        """Reserve the ports, start every worker and wait until each listens."""
        try:
            self._held = [_reserve(self.config.host, self.config.port)]
            self._held += [_reserve("127.0.0.1", 0) for _ in range(self.config.workers)]
            self._port, *control = (held.getsockname()[1] for held in self._held)
            config = dataclasses.replace(self.config, port=self._port)
            secret = new_key_secret()
            specs = [WorkerSpec(config, i, secret, tuple(control)) for i in range(self.config.workers)]
            self.processes = [await self._spawn(spec) for spec in specs]
            await asyncio.wait_for(asyncio.gather(*map(_until_ready, self.processes)), START_TIMEOUT_S)
        except BaseException:
            await self.close()
            raise

    @staticmethod
    async def _spawn(spec: WorkerSpec) -> asyncio.subprocess.Process:
        return await child.spawn("harness.server.workers", pickle.dumps(spec))

    async def wait(self) -> int:
        """Until one worker exits (it should not before :meth:`close`): its exit code."""
        done, _ = await asyncio.wait(
            [asyncio.create_task(p.wait()) for p in self.processes], return_when=asyncio.FIRST_COMPLETED
        )
        return next(iter(done)).result()

    async def close(self) -> None:
        """Stop every worker (SIGTERM, SIGKILL after :data:`STOP_TIMEOUT_S`), free the ports."""
        await child.stop(self.processes, STOP_TIMEOUT_S)
        for held in self._held:
            held.close()
        self._held = []

    async def __aenter__(self) -> WorkerPool:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


async def _until_ready(process: asyncio.subprocess.Process) -> None:
    if await child.until_ready(process) is None:
        raise WorkerError(f"stand-in worker {process.pid} exited while starting (code {process.returncode})")


def serve_workers(config: ServerConfig) -> None:
    """Run ``config.workers`` processes until Ctrl-C or SIGTERM (blocking; ``rth serve --workers``)."""
    asyncio.run(_serve_workers(config))


async def _serve_workers(config: ServerConfig) -> None:
    with stop_on_signals() as stop:
        async with WorkerPool(config) as pool:
            print(f"rth stand-in workers: {' '.join(map(str, pool.pids))}", flush=True)
            print(f"rth stand-in listening on {pool.base_url}", flush=True)
            playground.announce(pool.base_url)
            print(config.describe(), flush=True)
            stopped = asyncio.create_task(stop.wait())
            died = asyncio.create_task(pool.wait())
            await asyncio.wait({stopped, died}, return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            if died.done():
                raise WorkerError(f"a stand-in worker exited (code {died.result()}); stopping the others")
            died.cancel()
            print("rth stand-in stopping", flush=True)


# -- the worker side -------------------------------------------------------------------------------


def worker_main() -> None:
    """Entry point of one worker process (``python -m harness.server.workers``)."""
    spec = child.read_spec(WorkerSpec, "harness.server.workers")
    asyncio.run(child.serve(StandInServer(spec.config, cluster=spec)))


if __name__ == "__main__":
    worker_main()
