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
import contextlib
import dataclasses
import os
import pickle
import signal
import socket
import sys
import threading
from pathlib import Path
from types import TracebackType

import harness
from harness.errors import HarnessError
from harness.server.cluster import WorkerSpec
from harness.server.config import ServerConfig, api_base_url
from harness.server.keys import new_key_secret
from harness.server.server import StandInServer, stop_on_signals

READY = "ready"
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
        env = dict(os.environ)
        package_root = str(Path(harness.__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "harness.server.workers",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        assert process.stdin is not None
        process.stdin.write(pickle.dumps(spec))
        await process.stdin.drain()
        return process

    async def wait(self) -> int:
        """Until one worker exits (it should not before :meth:`close`): its exit code."""
        done, _ = await asyncio.wait(
            [asyncio.create_task(p.wait()) for p in self.processes], return_when=asyncio.FIRST_COMPLETED
        )
        return next(iter(done)).result()

    async def close(self) -> None:
        """Stop every worker (SIGTERM, SIGKILL after :data:`STOP_TIMEOUT_S`), free the ports."""
        running = [p for p in self.processes if p.returncode is None]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        if running:
            _, late = await asyncio.wait(
                [asyncio.create_task(p.wait()) for p in running], timeout=STOP_TIMEOUT_S
            )
            if late:
                for process in running:
                    with contextlib.suppress(ProcessLookupError):
                        process.kill()
                await asyncio.gather(*(p.wait() for p in running))
        for process in self.processes:
            if process.stdin is not None:
                process.stdin.close()
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
    assert process.stdout is not None
    line = (await process.stdout.readline()).decode().strip()
    if line != READY:
        code = await process.wait()
        raise WorkerError(f"stand-in worker {process.pid} exited while starting (code {code})")


def serve_workers(config: ServerConfig) -> None:
    """Run ``config.workers`` processes until Ctrl-C or SIGTERM (blocking; ``rth serve --workers``)."""
    asyncio.run(_serve_workers(config))


async def _serve_workers(config: ServerConfig) -> None:
    with stop_on_signals() as stop:
        async with WorkerPool(config) as pool:
            print(f"rth stand-in workers: {' '.join(map(str, pool.pids))}", flush=True)
            print(f"rth stand-in listening on {pool.base_url}", flush=True)
            stopped = asyncio.create_task(stop.wait())
            died = asyncio.create_task(pool.wait())
            await asyncio.wait({stopped, died}, return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            if died.done():
                raise WorkerError(f"a stand-in worker exited (code {died.result()}); stopping the others")
            died.cancel()
            print("rth stand-in stopping", flush=True)


# -- the worker side -------------------------------------------------------------------------------


async def _run_worker(spec: WorkerSpec) -> None:
    with stop_on_signals() as stop:
        loop = asyncio.get_running_loop()
        watch = threading.Thread(target=_watch_parent, args=(loop, stop), daemon=True, name="rth-parent")
        watch.start()
        async with StandInServer(spec.config, cluster=spec):
            print(READY, flush=True)
            os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # nobody reads the pipe any more
            await stop.wait()


def _watch_parent(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """stdin reaches end-of-file when the parent is gone (even SIGKILLed): stop then."""
    with contextlib.suppress(OSError):
        while os.read(0, 4096):  # the raw fd: a daemon thread must hold no buffer lock at exit
            pass
    with contextlib.suppress(RuntimeError):  # the loop already closed: we are stopping anyway
        loop.call_soon_threadsafe(stop.set)


def worker_main() -> None:
    """Entry point of one worker process (``python -m harness.server.workers``)."""
    spec = pickle.load(sys.stdin.buffer)
    if not isinstance(spec, WorkerSpec):
        raise SystemExit("harness.server.workers: expected a WorkerSpec on stdin")
    asyncio.run(_run_worker(spec))


if __name__ == "__main__":
    worker_main()
