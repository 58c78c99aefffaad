"""Fixtures for the load tests: a short scenario and the checks any short run of it must pass."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support import load_runs


@pytest.fixture(scope="module")
def short_scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One typed turn, about 4 s a session against the stand-in."""
    path = tmp_path_factory.mktemp("load") / "short.yaml"
    path.write_text(load_runs.SHORT, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def check_short_load() -> Callable[[dict[str, Any], Path, int, set[str]], None]:
    """``check_short_load(report, run_dir, users, workers)``: what any short closed run that held
    reports, local processes or Ray actors alike."""
    return load_runs.check_short_load
