"""Fixtures for tests written in Python: ``rth_server``, ``rth_target``, ``rth_session_config``.

Override ``rth_session_config`` in a test module to send another ``session.update`` on connect
(``realtime_session``, in session_fixture.py, uses it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from harness.pytest_plugin.state import state_of

if TYPE_CHECKING:
    from harness.client import Target
    from harness.pytest_plugin.standin import BackgroundStandIn


@pytest.fixture(scope="session")
def rth_server(pytestconfig: pytest.Config) -> BackgroundStandIn:
    """The stand-in Realtime server on 127.0.0.1 and a free port (one per pytest session).

    ``rth_server.base_url`` and ``rth_server.api_key`` are what an app under test needs.
    """
    return state_of(pytestconfig).server()


@pytest.fixture(scope="session")
def rth_target(pytestconfig: pytest.Config) -> Target:
    """What ``--rth-target`` names: the stand-in (default) or a URL with ``OPENAI_API_KEY``."""
    return state_of(pytestconfig).resolve_target().target


@pytest.fixture
def rth_session_config() -> dict[str, Any]:
    """The ``session`` of the session.update sent on connect: push-to-talk, input transcription."""
    from harness.runner.session_run import DEFAULT_INPUT_AUDIO

    return {"type": "realtime", "audio": {"input": dict(DEFAULT_INPUT_AUDIO)}}
