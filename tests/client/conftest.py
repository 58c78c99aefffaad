"""Fixtures for the client tests: a raw-aiortc answerer on loopback (see client_fake_realtime.py)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest

from tests.client.client_fake_realtime import FakeRealtime


@pytest.fixture
async def fake() -> AsyncIterator[FakeRealtime]:
    server = FakeRealtime()
    await server.start()
    try:
        yield server
    finally:
        with contextlib.suppress(Exception):
            await server.stop()
