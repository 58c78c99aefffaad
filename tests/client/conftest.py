"""Fixtures for the client tests: a raw-aiortc answerer on loopback (see tests/support/fake_realtime.py)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest

from tests.support.fake_realtime import API_KEY, FakeRealtime


@pytest.fixture(scope="session")
def api_key() -> str:
    """The standard key the fake answerer accepts."""
    return API_KEY


@pytest.fixture
async def fake() -> AsyncIterator[FakeRealtime]:
    server = FakeRealtime()
    await server.start()
    try:
        yield server
    finally:
        with contextlib.suppress(Exception):
            await server.stop()
