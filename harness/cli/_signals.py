"""SIGINT and SIGTERM alike: the first winds the run down and keeps its report, a second one stops at once.

CI cancels, ``docker stop`` and ``timeout`` send SIGTERM, a person presses Ctrl-C (SIGINT): both
cancel the command's main task, so no new session starts, running ones hang up, and what they
measured is scored and written, ``interrupted: true``; the command then exits ``128 + signal``
(130 for SIGINT, 143 for SIGTERM). A second signal while that happens exits at once with the same
rule: the timeline is written a whole line at a time and flushed, so ``timeline.jsonl`` is intact;
worker processes are killed rather than left behind.

The handlers are plain ``signal.signal`` ones rather than the event loop's: they run in the main
thread between bytecodes, so the second signal is obeyed even while the loop is busy (rendering
the HTML report at the end, say), and never in the middle of a timeline write.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

T = TypeVar("T")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """The command was stopped by a signal; it exits ``128 + signum``."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


class _Stopper:
    def __init__(self, run_dir: Path | None) -> None:
        self.run_dir = run_dir
        self.signum: int | None = None
        self.task: asyncio.Task[Any] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is None:
            self.signum = signum
            if self.task is not None and self.loop is not None and not self.task.done():
                self.loop.call_soon_threadsafe(self.task.cancel)
                return
            raise Interrupted(signum)  # nothing running on the loop: stop right here
        self.hard_exit(signum)

    def hard_exit(self, signum: int) -> None:
        name = signal.Signals(signum).name
        where = f"; the timeline so far is in {self.run_dir / 'timeline.jsonl'}" if self.run_dir else ""
        line = f"rth: {name} while stopping: stopped at once{where} (report.json holds finished sessions)\n"
        if os.isatty(1):
            os.write(1, b"\x1b[?25h\n")  # the live view hid the cursor; give it back
        os.write(2, line.encode())  # not sys.stderr: the signal may have cut a write to it short
        for child in multiprocessing.active_children():  # workers ignore both signals on purpose
            child.kill()
        os._exit(128 + signum)


@contextmanager
def _handlers(stopper: _Stopper) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers (the app called from a thread: plain Ctrl-C)
        return
    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    for sig in STOP_SIGNALS:
        signal.signal(sig, stopper)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_stoppable(main: Coroutine[Any, Any, T], run_dir: Path | None = None) -> T:
    """``asyncio.run(main)`` where SIGINT and SIGTERM both cancel ``main`` (which writes its partial
    report on the way out) and then raise :class:`Interrupted`; a second signal exits at once,
    naming ``run_dir``'s timeline."""
    stopper = _Stopper(run_dir)

    async def guarded() -> T:
        stopper.task = asyncio.current_task()
        stopper.loop = asyncio.get_running_loop()
        return await main

    with _handlers(stopper), asyncio.Runner() as runner:
        try:
            result = runner.run(guarded())
        except asyncio.CancelledError:
            if stopper.signum is None:
                raise
            raise Interrupted(stopper.signum) from None
    if stopper.signum is not None:
        raise Interrupted(stopper.signum)
    return result
