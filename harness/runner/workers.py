"""CPU-bound work off the event loop that paces audio: a pool of worker processes.

Preparing a clip (decode, resample, WAV write, energy VAD) and scoring a session (WER alignment,
offline re-transcription at ~0.1 s per second of speech) would stall every other session's 20 ms
audio frames if they ran on the loop, and threads would not help: pocketsphinx and numpy's small
per-call work hold the GIL. So they run in processes, started with ``spawn`` (the parent has
aiortc's threads; ``fork`` would copy their locks) and warmed once at the start of a run, in
parallel with the stand-in's own start.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from multiprocessing import get_context
from multiprocessing.process import BaseProcess
from typing import ParamSpec, Protocol, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class CpuPool(Protocol):
    """Where CPU-bound calls run: worker processes (:class:`ProcessPool`) or inline (tests, tools)."""

    async def call(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R: ...


class InlinePool:
    """Runs calls on the caller's loop: for a single session where nothing else is paced."""

    async def call(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        return fn(*args, **kwargs)


def leave_signals_to_parent() -> None:
    """A worker process ignores Ctrl-C and SIGTERM: the terminal (and ``timeout``) signal the whole
    process group, and the parent decides (it still needs the workers to score the sessions an
    interrupt cut short). It exits when its parent does instead, however the parent ended."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent,), name="rth-parent-watch", daemon=True).start()


def _exit_with(parent: BaseProcess) -> None:
    parent.join()
    os._exit(1)


def _start_worker() -> None:
    leave_signals_to_parent()


def _warm_worker() -> None:
    """Import what scoring needs and load the recogniser's model once per worker."""
    from harness.metrics.recognise import warm_up

    warm_up()


def default_workers(concurrency: int) -> int:
    """One worker per concurrent session, at most one per core the process may use."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(concurrency, cores))


class ProcessPool:
    """``async with ProcessPool(n) as pool: await pool.call(fn, *args)``; ``fn`` and its arguments
    must pickle (module-level functions, dataclasses, pydantic models)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._executor: Executor | None = None
        self._warm: list[asyncio.Future[None]] = []

    async def call(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        if self._executor is None:
            raise RuntimeError("the worker pool is not started")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    async def __aenter__(self) -> ProcessPool:
        self._executor = ProcessPoolExecutor(
            max_workers=self.workers, mp_context=get_context("spawn"), initializer=_start_worker
        )
        loop = asyncio.get_running_loop()
        self._warm = [loop.run_in_executor(self._executor, _warm_worker) for _ in range(self.workers)]
        return self

    async def wait_warm(self) -> None:
        """Until every worker has loaded what it needs (a warm-up failure shows at the first call)."""
        await asyncio.gather(*self._warm, return_exceptions=True)

    async def __aexit__(self, *exc_info: object) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.get_running_loop().run_in_executor(
                None, lambda: executor.shutdown(wait=True, cancel_futures=True)
            )
