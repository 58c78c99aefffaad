"""Fixtures for the stand-in server tests: a real StandInServer on 127.0.0.1, port 0."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from harness.server import ServerConfig, StandInServer
from tests.server.server_raw_peer import RawPeer, flite_wav

API_KEY = "sk-test-server-SECRET-4242"
SENTENCE = "what is the weather like in paris today"


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


@pytest.fixture(scope="session")
def sentence_audio(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """flite (slt) saying SENTENCE, int16 mono 48 kHz (~2.5 s)."""
    return flite_wav(SENTENCE, Path(tmp_path_factory.mktemp("speech")) / "sentence.wav")
