"""The stand-in server on a background thread with its own event loop.

Tests of every kind share it: sync test items (YAML scenarios run with ``asyncio.run``) and async
tests on pytest-asyncio's per-test loops. A server bound to a loop that a test closes would die
with the test, so the server gets a loop of its own for the whole pytest session.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from typing import TYPE_CHECKING

from harness.client import Target
from harness.protocol import DEFAULT_MODEL

if TYPE_CHECKING:
    from harness.server import StandInServer

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0


class BackgroundStandIn:
    """``rth_server``: the stand-in on ``127.0.0.1`` and a free port, with a random standard key."""

    def __init__(self) -> None:
        self.api_key = "sk-rth-pytest-" + secrets.token_hex(8)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="rth-stand-in", daemon=True)
        self._server: StandInServer | None = None

    def start(self) -> BackgroundStandIn:
        from harness.server import ServerConfig, StandInServer

        self._thread.start()
        server = StandInServer(ServerConfig(host="127.0.0.1", port=0, api_key=self.api_key))
        asyncio.run_coroutine_threadsafe(server.start(), self._loop).result(START_TIMEOUT_S)
        self._server = server
        return self

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the stand-in is not started")
        return self._server.base_url

    @property
    def open_calls(self) -> frozenset[str]:
        """The ids (``rtc_...``, as in a call's ``Location``) of the calls still open: an app that
        hangs up, or whose peer connection closes, leaves its call out of this set."""
        server = self._server
        if server is None:
            raise RuntimeError("the stand-in is not started")

        async def snapshot() -> frozenset[str]:  # read on the server's own loop
            return frozenset(server.calls)

        return asyncio.run_coroutine_threadsafe(snapshot(), self._loop).result(STOP_TIMEOUT_S)

    def target(self, model: str = DEFAULT_MODEL) -> Target:
        return Target(self.base_url, self.api_key, model=model)

    def stop(self) -> None:
        if self._server is not None:
            asyncio.run_coroutine_threadsafe(self._server.close(), self._loop).result(STOP_TIMEOUT_S)
            self._server = None
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(STOP_TIMEOUT_S)
        self._loop.close()
