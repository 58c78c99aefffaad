"""Fixtures for the report tests: a headless Chromium page (see tests/support/browser.py)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest

from tests.support import browser


@pytest.fixture(scope="session")
def chromium_page() -> Callable[..., AbstractContextManager[Any]]:
    """``with chromium_page() as page:`` a Playwright page in a throw-away profile; the tests that
    ask for it are skipped where Debian's chromium is not installed."""
    if not browser.CHROMIUM.exists():
        pytest.skip(
            f"{browser.CHROMIUM} is missing: run scripts/install-system-deps.sh (apt-get install chromium)"
        )
    return browser.chromium_page
