"""Stand-in servers for the server tests: the test key, a predictable persona, a clock to move.

``standin(pacing, **options)`` runs a StandInServer on 127.0.0.1 (port 0) with the test persona;
``connected(server)`` is a new raw call to it, session.created already received; every event
received on it must validate.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from harness.server import ResponsePacing, ServerConfig, StandInServer, parse_persona
from tests.support.raw_peer import RawPeer

API_KEY = "sk-test-server-SECRET-4242"
STORY = (
    "Once upon a time a small green dragon lived alone on a quiet mountain. Every morning it counted "
    "its golden coins, and every evening it sang softly to the stars above the sleeping valley."
)
# Replies the tests can predict: a long one to interrupt, an echo for everything else.
TEST_PERSONA = parse_persona(
    {
        "name": "tests",
        "rules": [{"match": r"\bstory\b", "reply": STORY}],
        "fallback": "You said: {transcript}.",
    }
)

Connect = Callable[[StandInServer], AbstractAsyncContextManager[RawPeer]]
StandIn = Callable[..., AbstractAsyncContextManager[StandInServer]]


SENTENCE = "what is the weather like in paris today"  # what the flite sentence fixture says


class FakeClock:
    """Wall clock for key expiry that tests move forward instead of sleeping."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@asynccontextmanager
async def standin(pacing: ResponsePacing, **options: object) -> AsyncIterator[StandInServer]:
    config = ServerConfig(
        host="127.0.0.1",
        port=0,
        api_key=API_KEY,
        pacing=pacing,
        persona=TEST_PERSONA,  # the default persona of every call to this server
        **options,  # type: ignore[arg-type]
    )
    async with StandInServer(config) as running:
        yield running


@asynccontextmanager
async def connected(server: StandInServer, headers: dict[str, str] | None = None) -> AsyncIterator[RawPeer]:
    """A new call to ``server`` (with extra call ``headers``), closed afterwards; session.created
    already received."""
    raw = RawPeer()
    try:
        await raw.connect(server.base_url, API_KEY, headers=headers)
        await raw.expect("session.created")
        yield raw
        raw.assert_valid()  # also what arrived after the last expect (not reached when the test failed)
    finally:
        await raw.close()
