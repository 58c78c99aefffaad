"""Fixtures for the runner tests: a scripted session (see tests/support/fake_session.py)."""

from __future__ import annotations

import pytest

from tests.support.fake_session import FakeSession


@pytest.fixture(scope="session")
def fake_session() -> type[FakeSession]:
    """The class: ``fake_session(responder)`` is a session whose server answers with
    ``responder(event)``; a played clip reaches it as ``{"type": fake_session.PLAYED, "path": ...}``."""
    return FakeSession
