"""What the stand-in's own child processes share (``--workers`` workers, the process of
``--target local``): started as ``python -m MODULE`` with a pickled spec on stdin that then stays
open (a child whose parent vanished sees end-of-file and stops), stopped with SIGTERM and, after a
timeout, SIGKILL."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

import harness
from harness.server.server import StandInServer, stop_on_signals

T = TypeVar("T")

READY = "ready"  # the first line a child prints once it listens (and, if asked, is warm)


async def spawn(
    module: str, spec: bytes, env: Mapping[str, str] | None = None, new_session: bool = False
) -> asyncio.subprocess.Process:
    """``python -m module`` with this package importable, ``spec`` written to its stdin (kept
    open), its stdout a pipe; ``env`` is added to this process's environment."""
    environ = dict(os.environ)
    package_root = str(Path(harness.__file__).resolve().parents[1])
    environ["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, environ.get("PYTHONPATH")) if p)
    environ.update(env or {})
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env=environ,
        start_new_session=new_session,
    )
    assert process.stdin is not None
    process.stdin.write(spec)
    await process.stdin.drain()
    return process


async def until_ready(process: asyncio.subprocess.Process) -> str | None:
    """What the child said after :data:`READY` on its first line ("" for nothing), or None when it
    exited instead (its exit code is then in ``process.returncode``)."""
    assert process.stdout is not None
    line = (await process.stdout.readline()).decode().strip()
    word, _, detail = line.partition(" ")
    if word != READY:
        await process.wait()
        return None
    return detail


async def stop(processes: list[asyncio.subprocess.Process], timeout_s: float) -> None:
    """SIGTERM to each running one, SIGKILL to those still running after ``timeout_s``; close stdin."""
    running = [p for p in processes if p.returncode is None]
    for process in running:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
    if running:
        _, late = await asyncio.wait([asyncio.create_task(p.wait()) for p in running], timeout=timeout_s)
        if late:
            for process in running:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
            await asyncio.gather(*(p.wait() for p in running))
    for process in processes:
        if process.stdin is not None:
            process.stdin.close()


def read_spec(kind: type[T], module: str) -> T:
    """In the child: the pickled spec on stdin (the parent's :func:`spawn`)."""
    spec = pickle.load(sys.stdin.buffer)
    if not isinstance(spec, kind):
        raise SystemExit(f"{module}: expected a {kind.__name__} on stdin")
    return spec


async def serve(
    server: StandInServer, detail: Callable[[StandInServer], str] | None = None, warm: bool = False
) -> None:
    """In the child: run ``server`` (warmed up first if ``warm``), print :data:`READY` and
    ``detail(server)`` on stdout (read by :func:`until_ready`), and stop on SIGTERM, SIGINT or the
    end of stdin (the parent is gone, even SIGKILLed)."""
    with stop_on_signals() as stop:
        loop = asyncio.get_running_loop()
        thread = threading.Thread(target=_watch_parent, args=(loop, stop), daemon=True, name="rth-parent")
        thread.start()
        async with server:
            if warm:
                await server.warm_up()
            print(READY if detail is None else f"{READY} {detail(server)}", flush=True)
            os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # nobody reads the pipe any more
            await stop.wait()


def _watch_parent(loop: asyncio.AbstractEventLoop, stop_event: asyncio.Event) -> None:
    with contextlib.suppress(OSError):
        while os.read(0, 4096):  # the raw fd: a daemon thread must hold no buffer lock at exit
            pass
    with contextlib.suppress(RuntimeError):  # the loop already closed: we are stopping anyway
        loop.call_soon_threadsafe(stop_event.set)
