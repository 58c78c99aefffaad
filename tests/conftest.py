"""Fixtures for every test folder: the repository root, the command line, report objects.

Shared helpers live in ``tests/support`` and reach test modules only through fixtures (here and
in the folder conftests); no test module imports another, and test modules import support names
only for annotations (under TYPE_CHECKING).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import REPO_ROOT, budgets
from tests.support import reports as report_support
from tests.support.cli import Cli


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository's top folder (scenarios/, fixtures/, examples/, docs/)."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def audio_fixtures(repo_root: Path) -> Path:
    """The committed speech clips (fixtures/audio/*.wav)."""
    return repo_root / "fixtures" / "audio"


@pytest.fixture(scope="session")
def run_cli(repo_root: Path) -> Cli:
    """``run_cli("run", "scenarios/smoke.yaml", ...) -> CliResult(exit_code, stdout, stderr, output)``.

    In process by default; ``in_subprocess=True`` for a real ``python -m harness.cli`` (with
    ``interrupt_when=`` to press Ctrl-C); ``module="pytest"`` runs another program the same way.
    """
    return Cli(repo_root)


@pytest.fixture(scope="session")
def reports() -> report_support.ReportFactory:
    """``reports.run(**fields)``, ``.scenario(**fields)``, ``.turn(index, **fields)``,
    ``.verdict(name, passed, **fields)``: report objects with defaults for every required field;
    ``reports.write_run(root, **spec)``: a synthetic run directory (see tests/support/reports.py)."""
    return report_support.ReportFactory()


@pytest.fixture(scope="session")
def relaxed_suite(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``relaxed_suite("smoke.yaml")``: a copy of that committed suite whose latency budgets have
    room for a loaded machine (every other expectation as committed; see tests/support/budgets.py)."""
    folder = tmp_path_factory.mktemp("relaxed")

    def copy(name: str) -> Path:
        return budgets.relaxed_copy(repo_root / "scenarios" / name, folder)

    return copy
