"""Fixtures for the stand-in server tests: real StandInServers on 127.0.0.1, port 0.

``server`` is per test (it carries a controllable clock for key expiry); ``ahead_server`` and
``realtime_server`` are per module (tests of a module share them, each on its own call), so the
ASR workers start once per module. Audio fixtures are flite speech at 48 kHz, made once.

The raw offerer, the stand-in helpers and the conformance checks (tests/support/raw_peer.py,
standin.py, conformance.py) reach the tests as the session fixtures at the end.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import pytest_asyncio

from harness.server import ResponsePacing, ServerConfig, StandInServer
from tests.support import conformance as conformance_support
from tests.support import raw_peer as raw_peer_support
from tests.support import standin as standin_support
from tests.support.raw_peer import RawPeer, flite_wav
from tests.support.standin import API_KEY, SENTENCE, FakeClock


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
        raw.assert_valid()
    finally:
        await raw.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def ahead_server() -> AsyncIterator[StandInServer]:
    """The default stand-in (generate-ahead pacing, server_vad sessions) with the test persona."""
    async with standin_support.standin(ResponsePacing.GENERATE_AHEAD) as running:
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def realtime_server() -> AsyncIterator[StandInServer]:
    """``--pace realtime``: generation follows playback (the documented order)."""
    async with standin_support.standin(ResponsePacing.FOLLOW_PLAYBACK) as running:
        yield running


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


@pytest.fixture(scope="session")
def api_key() -> str:
    """The key every stand-in of these tests expects."""
    return API_KEY


@pytest.fixture(scope="session")
def story() -> str:
    """What the test persona answers to anything with "story" in it (long enough to interrupt)."""
    return standin_support.STORY


@pytest.fixture(scope="session")
def standin() -> standin_support.StandIn:
    """``async with standin(pacing, **server_options) as server``: a stand-in with the test persona."""
    return standin_support.standin


@pytest.fixture(scope="session")
def connected() -> standin_support.Connect:
    """``async with connected(server) as peer``: a new call, session.created received, closed after."""
    return standin_support.connected


@pytest.fixture(scope="session")
def raw_peer() -> type[RawPeer]:
    """The raw offerer class: ``raw_peer()`` is a peer not yet connected."""
    return RawPeer


@pytest.fixture(scope="session")
def silent_peak() -> int:
    """The loudest frame peak that still counts as silence."""
    return raw_peer_support.SILENT_PEAK


@pytest.fixture(scope="session")
def candidate_addresses() -> Callable[[str], set[str]]:
    """The connection addresses of an SDP's ``a=candidate`` lines."""
    return raw_peer_support.candidate_addresses


@pytest.fixture(scope="session")
def conformance() -> ModuleType:
    """The protocol checks of tests/support/conformance.py: ``conformance.assert_links(peer)``,
    ``await .assert_response_order(peer, response_id, pacing=..., chain=None)``, ``.expected_chain(...)``."""
    return conformance_support
