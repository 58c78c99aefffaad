"""What a load run against a paid target would cost, before anything connects."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from harness.load import LoadOptions, estimate_cost
from harness.runner import RunOptions
from harness.scenario import load_suite

if TYPE_CHECKING:
    from tests.support.cli import Cli

PAID = "https://api.openai.com/v1"


def test_only_scenarios_calling_a_paid_target_are_priced(short_scenario: Path, tmp_path: Path) -> None:
    paid = tmp_path / "paid.yaml"
    paid.write_text(f"target: {PAID}\n" + short_scenario.read_text().replace("short", "paid"))
    local, own = load_suite([short_scenario]).scenarios[0], load_suite([paid]).scenarios[0]
    options = LoadOptions(run=RunOptions(target="local"), users=20, duration_s=600)
    assert estimate_cost([local], options) is None
    everything = estimate_cost([local], LoadOptions(run=RunOptions(target=PAID), users=20, duration_s=600))
    half = estimate_cost([local, own], options)
    assert everything is not None and half is not None and everything > 0
    assert half == pytest.approx(everything / 2)


def test_a_run_above_max_cost_is_refused_before_it_starts(
    run_cli: Cli, short_scenario: Path, tmp_path: Path
) -> None:
    args = ["load", str(short_scenario), "--target", PAID, "--users", "200", "--duration", "3600"]
    result = run_cli(*args, "--out", str(tmp_path), env={"OPENAI_API_KEY": "sk-never-used"})
    assert result.exit_code == 2
    assert "estimated cost of this run: $" in result.stdout
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("rth: error: estimated cost $") and "--max-cost-usd 1" in line
    assert not list(tmp_path.iterdir())  # nothing ran, nothing written
