"""`rth run --tag`: run only the scenarios carrying a tag; an unknown tag is a one-line error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.scenario import load_scenarios, select_tagged

REPO = Path(__file__).resolve().parents[2]


def test_select_by_suite_tag_keeps_only_that_suite() -> None:
    scenarios = load_scenarios([REPO / "scenarios"])
    chosen = select_tagged(scenarios, ["features"])
    assert {s.name for s in chosen} == {"modes", "interruptions"}
    assert select_tagged(scenarios, []) == scenarios


def test_unknown_tag_names_the_tags_present() -> None:
    with pytest.raises(UsageError, match="no scenario has that tag; tags in these files: features"):
        select_tagged(load_scenarios([REPO / "scenarios"]), ["nope"])


def test_cli_unknown_tag_exits_2_without_running(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "scenarios/", "--tag", "nope", "--out", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().startswith("rth: error: --tag nope: no scenario has that tag")
    assert "Traceback" not in result.stderr
    assert not any(tmp_path.iterdir()), "nothing should run or be written"
