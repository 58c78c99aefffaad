"""The stand-in in a process of its own: ``async with StandInProcess(config) as standin``.

Why: in-process, the stand-in and every client session share one event loop, so the stand-in's
per-packet work delays the client's arrival stamps and the client's delays the stand-in's sends
(docs/performance.md, first-audio accuracy). In its own process it gets its own loop (and core).

The child is ``python -m harness.server.process``: it reads its :class:`ServerConfig` (pickled,
without the key) on stdin and its key from :data:`KEY_ENV` (never argv, which ``ps`` shows), starts
a :class:`StandInServer`, waits for its ASR warm-up (so the first session connects warm), then
prints ``ready URL`` on stdout. stdin stays open: the child stops when it reaches end-of-file (its
parent is gone, even SIGKILLed), on SIGTERM, or on SIGINT. It runs in a session of its own, so a
Ctrl-C at the terminal reaches only the parent, which still needs the stand-in while it winds its
sessions down; the parent then stops it (SIGTERM, SIGKILL after :data:`STOP_TIMEOUT_S`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import pickle
from types import TracebackType

from harness.errors import HarnessError
from harness.server import child
from harness.server.config import ServerConfig
from harness.server.server import StandInServer

KEY_ENV = "RTH_STANDIN_API_KEY"
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 10.0


class StandInProcessError(HarnessError):
    """The stand-in process failed to start or died."""


class StandInProcess:
    """A stand-in server in a child process; ``base_url`` and ``pid`` once started."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.process: asyncio.subprocess.Process | None = None
        self._base_url: str | None = None

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("the stand-in process is not started")
        return self._base_url

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("the stand-in process is not started")
        return self.process.pid

    async def start(self) -> None:
        """Start the child and wait until it listens and is warm."""
        env = {KEY_ENV: self.config.api_key} if self.config.api_key is not None else {}
        spec = pickle.dumps(dataclasses.replace(self.config, api_key=None))
        try:
            self.process = await child.spawn("harness.server.process", spec, env, new_session=True)
            self._base_url = await asyncio.wait_for(self._until_ready(), START_TIMEOUT_S)
        except BaseException:
            await self.close()
            raise

    async def _until_ready(self) -> str:
        assert self.process is not None
        url = await child.until_ready(self.process)
        if not url:
            if url is not None:  # ready without a URL: a bug of ours, but never leave it running
                await child.stop([self.process], STOP_TIMEOUT_S)
            pid, code = self.process.pid, self.process.returncode
            raise StandInProcessError(f"the stand-in process {pid} exited while starting (code {code})")
        return url

    async def close(self) -> None:
        """Stop the child (SIGTERM, SIGKILL after :data:`STOP_TIMEOUT_S`); idempotent."""
        if self.process is not None:
            await child.stop([self.process], STOP_TIMEOUT_S)

    async def __aenter__(self) -> StandInProcess:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


# -- the child side --------------------------------------------------------------------------------


def main() -> None:
    """Entry point of the child (``python -m harness.server.process``)."""
    config = child.read_spec(ServerConfig, "harness.server.process")
    config = dataclasses.replace(config, api_key=os.environ.pop(KEY_ENV, None))
    asyncio.run(child.serve(StandInServer(config), lambda server: server.base_url, warm=True))


if __name__ == "__main__":
    main()
