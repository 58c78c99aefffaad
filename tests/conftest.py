"""Fixtures for every test folder: the repository root, the command line, report objects, a
headless Chromium page.

Shared helpers live in ``tests/support`` and reach test modules only through fixtures (here and
in the folder conftests); no test module imports another, and test modules import support names
only for annotations (under TYPE_CHECKING).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from tests.support import REPO_ROOT, browser, budgets
from tests.support import raw_peer as raw_peer_support
from tests.support import reports as report_support
from tests.support.cli import Cli

# Hypothesis: no per-example deadline (timing goals live in bench/; an example that a loaded machine
# preempts is no failure). With CI set, as .ci/run sets it, Hypothesis's own "ci" profile applies
# instead: the same, and derandomised, so a red CI run can be repeated example for example.
if not os.environ.get("CI"):
    settings.register_profile("rth", deadline=None, suppress_health_check=[HealthCheck.too_slow])
    settings.load_profile("rth")


@pytest.fixture(scope="session")
def wait_until() -> Callable[..., Awaitable[None]]:
    """``await wait_until(predicate, timeout=10.0, what=...)``: poll for a state (never a timing check)."""
    return raw_peer_support.wait_until


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
def chromium_page() -> Callable[..., AbstractContextManager[Any]]:
    """``with chromium_page(args=[...]) as page:`` a Playwright page of Debian's chromium in a
    throw-away profile (see tests/support/browser.py); the tests that ask for it are skipped where
    that chromium is not installed."""
    if not browser.CHROMIUM.exists():
        pytest.skip(
            f"{browser.CHROMIUM} is missing: run scripts/install-system-deps.sh (apt-get install chromium)"
        )
    return browser.chromium_page


@pytest.fixture(scope="session")
def loopback_network() -> None:
    """Skips the test where this network namespace has addresses besides loopback: a browser
    checks a loopback peer from each of its addresses (aioice lists what a WebRTC stack finds), so
    its ICE would leave 127.0.0.1. scripts/in-loopback-netns.sh (``make test`` as root) gives a
    namespace with only ``lo``."""
    import aioice.ice

    from harness.ice import loopback_only

    with loopback_only(False):  # aioice's own gathering, whatever policy this context holds
        others = aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=True)
    if others:
        pytest.skip(
            f"this network has addresses besides loopback ({', '.join(sorted(others))}), which a "
            "browser's ICE would use: run under scripts/in-loopback-netns.sh (as root)"
        )


@pytest.fixture(scope="session")
def fake_microphone_args() -> Callable[[Path], list[str]]:
    """``fake_microphone_args(wav)``: Chromium flags for a WebRTC page whose microphone plays ``wav``."""
    return browser.fake_microphone_args


@pytest.fixture(scope="session")
def relaxed_suite(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``relaxed_suite("smoke.yaml")``: a copy of that committed suite whose latency budgets have
    room for a loaded machine (every other expectation as committed; see tests/support/budgets.py)."""
    folder = tmp_path_factory.mktemp("relaxed")

    def copy(name: str) -> Path:
        return budgets.relaxed_copy(repo_root / "scenarios" / name, folder)

    return copy
