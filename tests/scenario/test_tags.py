"""`rth run --tag`: run only the scenarios carrying a tag; an unknown tag is a one-line error."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from harness.errors import UsageError
from harness.scenario import load_scenarios, select_tagged

if TYPE_CHECKING:
    from tests.support.cli import Cli


def test_select_by_suite_tag_keeps_only_that_suite(repo_root: Path) -> None:
    scenarios = load_scenarios([repo_root / "scenarios"])
    chosen = select_tagged(scenarios, ["features"])
    assert {s.name for s in chosen} == {"modes", "interruptions"}
    assert select_tagged(scenarios, []) == scenarios


def test_unknown_tag_names_the_tags_present(repo_root: Path) -> None:
    present = r"no scenario has that tag; tags in these files: callers, false_barge_in, features$"
    with pytest.raises(UsageError, match=present):
        select_tagged(load_scenarios([repo_root / "scenarios"]), ["nope"])


def test_cli_unknown_tag_exits_2_without_running(tmp_path: Path, run_cli: Cli) -> None:
    result = run_cli(
        "run", "scenarios/", "--tag", "nope", "--out", str(tmp_path), in_subprocess=True, timeout=60
    )
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("rth: error: --tag nope: no scenario has that tag")
    assert "Traceback" not in result.stderr
    assert not any(tmp_path.iterdir()), "nothing should run or be written"
