"""Fixtures for the scenario tests: scenario files written on the fly, the shipped ones one by one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import REPO_ROOT


@pytest.fixture
def write_scenario(audio_fixtures: Path) -> Callable[[Path, str, str], Path]:
    """``write_scenario(folder, name, text)``: the file ``folder/name`` (folders made as needed),
    every ``WAV`` in ``text`` replaced by the path of a real speech clip."""
    wav = audio_fixtures / "weather_paris.wav"

    def write(folder: Path, name: str, text: str) -> Path:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.replace("WAV", str(wav)), encoding="utf-8")
        return path

    return write


@pytest.fixture(params=sorted((REPO_ROOT / "scenarios").rglob("*.yaml")), ids=lambda p: p.name)
def shipped_scenario(request: pytest.FixtureRequest) -> Path:
    """Each YAML file under scenarios/ (one test per file)."""
    path: Path = request.param
    return path
