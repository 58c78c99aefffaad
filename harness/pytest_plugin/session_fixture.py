"""``realtime_session``: a connected client for async tests (needs pytest-asyncio).

A :class:`RealtimeSession` to ``rth_target`` with ``rth_session_config`` applied, its timeline
named after the test, hung up after the test. Registered only where pytest-asyncio is installed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio

from harness.pytest_plugin.state import state_of
from harness.timeline import Timeline

if TYPE_CHECKING:
    from harness.client import RealtimeSession, Target


@pytest_asyncio.fixture
async def realtime_session(
    request: pytest.FixtureRequest,
    pytestconfig: pytest.Config,
    rth_target: Target,
    rth_session_config: dict[str, Any],
) -> AsyncIterator[RealtimeSession]:
    from harness.client import ConnectMode, RealtimeSession

    session = await RealtimeSession.connect(
        rth_target,
        timeline=Timeline(request.node.name),
        session_config=rth_session_config,
        mode=ConnectMode(state_of(pytestconfig).connect),
    )
    try:
        yield session
    finally:
        await session.close()
