"""Fixtures for the stand-in server tests: real StandInServers on 127.0.0.1, port 0.

``server`` is per test (it carries a controllable clock for key expiry); ``ahead_server`` and
``realtime_server`` are per module (tests of a module share them, each on its own call), so the
ASR workers start once per module. Audio fixtures are flite speech at 48 kHz, made once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import numpy as np
import pytest
import pytest_asyncio

from harness.server import ResponsePacing, ServerConfig, StandInServer, parse_persona
from tests.server.server_raw_peer import RawPeer, flite_wav

API_KEY = "sk-test-server-SECRET-4242"
SENTENCE = "what is the weather like in paris today"
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


class FakeClock:
    """Wall clock for key expiry that tests move forward instead of sleeping."""

    def __init__(self) -> None:
        import time

        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def server(clock: FakeClock) -> AsyncIterator[StandInServer]:
    config = ServerConfig(host="127.0.0.1", port=0, api_key=API_KEY, clock=clock)
    async with StandInServer(config) as running:
        yield running


@pytest.fixture
async def peer(server: StandInServer) -> AsyncIterator[RawPeer]:
    """A raw offerer connected with the standard key (data channel open)."""
    raw = RawPeer()
    try:
        await raw.connect(server.base_url, API_KEY)
        yield raw
    finally:
        await raw.close()


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


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def ahead_server() -> AsyncIterator[StandInServer]:
    """The default stand-in (generate-ahead pacing, server_vad sessions) with the test persona."""
    async with standin(ResponsePacing.GENERATE_AHEAD) as running:
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def realtime_server() -> AsyncIterator[StandInServer]:
    """``--pace realtime``: generation follows playback (the documented order)."""
    async with standin(ResponsePacing.FOLLOW_PLAYBACK) as running:
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
    finally:
        await raw.close()


@pytest.fixture(scope="session")
def speech_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(tmp_path_factory.mktemp("speech"))


@pytest.fixture(scope="session")
def sentence_audio(speech_dir: Path) -> np.ndarray:
    """flite (slt) saying SENTENCE, int16 mono 48 kHz (~2.5 s)."""
    return flite_wav(SENTENCE, speech_dir / "sentence.wav")


@pytest.fixture(scope="session")
def hello_audio(speech_dir: Path) -> np.ndarray:
    """flite (slt) saying "hello there" (~1 s)."""
    return flite_wav("hello there", speech_dir / "hello.wav")


@pytest.fixture(scope="session")
def story_audio(speech_dir: Path) -> np.ndarray:
    """flite (slt) asking for a story (the test persona answers with the long STORY)."""
    return flite_wav("tell me a story", speech_dir / "story.wav")
