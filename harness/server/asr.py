"""Speech recognition of committed user audio with pocketsphinx 5 (en-us model shipped in the wheel).

Decoding runs in worker *processes* (:mod:`harness.server.asr_worker`), not threads: pocketsphinx
holds the GIL while it decodes, and in a thread pool it stalled the event loop for up to 2.9 s
(two 7 s utterances), which would freeze the audio pacing of every call. Each worker keeps one
warm Decoder (~0.35 s to load; a Decoder is not thread-safe and is never shared) and serves one
request at a time. Workers are plain subprocesses over pipes rather than a multiprocessing pool:
spawn re-runs the parent's ``__main__`` (breaking unguarded scripts) and fork is unsafe in a
process running aiortc's threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import sys
from pathlib import Path

import numpy as np

from harness.errors import HarnessError
from harness.protocol.audio import FULL_SCALE

logger = logging.getLogger(__name__)

_WORKER = Path(__file__).with_name("asr_worker.py")
_HEADER = struct.Struct("<I")


SILENT_DBFS = -60.0  # no 20 ms frame louder than this: silence (speech frames sit above -50 dBFS)
FRAME_SAMPLES = 320  # 20 ms at 16 kHz


def silent(pcm: bytes) -> bool:
    """Whether no 20 ms frame of 16 kHz s16 ``pcm`` rises above :data:`SILENT_DBFS` (vectorised:
    a 30 s turn takes well under a millisecond on the loop)."""
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype=np.int16).astype(np.int64)
    usable = (
        samples[: samples.size - samples.size % FRAME_SAMPLES] if samples.size >= FRAME_SAMPLES else samples
    )
    if usable.size == 0:
        return True
    power = np.mean(np.square(usable).reshape(-1, min(FRAME_SAMPLES, usable.size)), axis=1)
    return bool(power.max() <= (FULL_SCALE * 10 ** (SILENT_DBFS / 20)) ** 2)


class RecognizerError(HarnessError):
    """A worker failed to decode or died."""


class _Worker:
    """One worker process and its pipe protocol."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls) -> _Worker:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-P", str(_WORKER), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        worker = cls(process)
        try:
            await worker._read_reply()
        except BaseException:
            await worker.stop()
            raise
        return worker

    async def decode(self, pcm: bytes) -> str:
        assert self.process.stdin is not None
        self.process.stdin.write(_HEADER.pack(len(pcm)) + pcm)
        await self.process.stdin.drain()
        return await self._read_reply()

    async def _read_reply(self) -> str:
        assert self.process.stdout is not None
        try:
            head = await self.process.stdout.readexactly(1 + _HEADER.size)
            text = (await self.process.stdout.readexactly(_HEADER.unpack(head[1:])[0])).decode("utf-8")
        except asyncio.IncompleteReadError:
            raise RecognizerError(f"ASR worker exited (code {self.process.returncode})") from None
        if head[:1] != b"O":
            raise RecognizerError(f"ASR worker failed: {text}")
        return text

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    async def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), timeout=2)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()


class Recognizer:
    """A pool of warm pocketsphinx workers; :meth:`transcribe` takes 16 kHz mono s16 bytes."""

    def __init__(self, workers: int) -> None:
        self._size = workers
        self._idle: asyncio.Queue[_Worker] = asyncio.Queue()
        self._all: set[_Worker] = set()
        self._starting: asyncio.Task[None] | None = None
        self._jobs: set[asyncio.Task[str]] = set()
        self._closed = False

    async def warm_up(self) -> None:
        """Start every worker and load its model now, so the first turn does not pay for it."""
        if self._starting is None:
            self._starting = asyncio.create_task(self._start_workers(self._size), name="rth-asr-start")
        await asyncio.shield(self._starting)

    async def transcribe(self, pcm: bytes) -> str:
        """Lower-case words heard in ``pcm``; empty when nothing was recognised, or when nothing
        could have been said (pocketsphinx hears a word, "dog" or "the", in a second of silence;
        the live API transcribes a silent commit as nothing)."""
        if not pcm or silent(pcm):
            return ""
        if self._closed:
            raise RecognizerError("the recognizer is closed")
        await self.warm_up()
        # A cancelled caller must not leave a worker mid-request: the exchange runs to its end.
        job = asyncio.create_task(self._exchange(pcm), name="rth-asr-job")
        self._jobs.add(job)
        job.add_done_callback(self._jobs.discard)
        return await asyncio.shield(job)

    async def _exchange(self, pcm: bytes) -> str:
        worker = await self._idle.get()
        try:
            return await worker.decode(pcm)
        finally:
            if self._closed:
                pass  # close() stops every worker in _all
            elif worker.alive:
                self._idle.put_nowait(worker)
            else:
                self._all.discard(worker)
                logger.warning("ASR worker died; starting a new one")
                await self._start_workers(1)

    async def _start_workers(self, count: int) -> None:
        results = await asyncio.gather(*(_Worker.start() for _ in range(count)), return_exceptions=True)
        workers = [r for r in results if isinstance(r, _Worker)]
        if self._closed:
            await asyncio.gather(*(worker.stop() for worker in workers))
            return
        for worker in workers:
            self._all.add(worker)
            self._idle.put_nowait(worker)
        errors = [r for r in results if not isinstance(r, _Worker)]
        if errors and not workers:
            raise RecognizerError(f"no ASR worker could start: {errors[0]}")

    async def close(self) -> None:
        """Stop the workers; requests in flight fail (their callers are being torn down too)."""
        self._closed = True
        for job in self._jobs:
            job.cancel()
        if self._jobs:
            await asyncio.gather(*self._jobs, return_exceptions=True)
        if self._starting is not None and not self._starting.done():
            self._starting.cancel()
            with contextlib.suppress(BaseException):
                await self._starting
        workers, self._all = list(self._all), set()
        await asyncio.gather(*(worker.stop() for worker in workers))
