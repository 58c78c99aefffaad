"""The rth pytest plugin (entry point ``pytest11``): scenarios as tests, fixtures for Python tests.

* ``pytest scenarios/`` collects scenario YAML files as test items (``smoke.yaml::smoke``).
* ``--rth-target local|URL``, ``--rth-connect unified|ephemeral``, ``--rth-model NAME`` and
  ``--rth-report DIR`` (keep a run directory with report.json, junit.xml, summary.md, index.html).
* Fixtures: ``rth_server`` (the stand-in on a free port), ``rth_target``, ``rth_session_config``
  and ``realtime_session`` (a connected client; pytest-asyncio).

Importing this module stays cheap: it is loaded into every pytest run of an environment with rth.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

import pytest

from harness.protocol import DEFAULT_MODEL
from harness.pytest_plugin.collect import ScenarioFile, collect_file
from harness.pytest_plugin.fixtures import rth_server, rth_session_config, rth_target
from harness.pytest_plugin.state import STATE_KEY, RthState

if find_spec("pytest_asyncio") is not None:
    from harness.pytest_plugin.session_fixture import realtime_session

__all__ = ["realtime_session", "rth_server", "rth_session_config", "rth_target"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rth", "realtime-harness (rth)")
    group.addoption(
        "--rth-target",
        default="local",
        help="'local' (the built-in stand-in, default) or a base URL like https://api.openai.com/v1",
    )
    group.addoption(
        "--rth-connect",
        default="unified",
        choices=("unified", "ephemeral"),
        help="How calls are set up: SDP with the API key, or via an ephemeral client secret",
    )
    group.addoption("--rth-model", default=DEFAULT_MODEL, help="Realtime model for the calls")
    group.addoption(
        "--rth-report",
        default=None,
        metavar="DIR",
        help="Keep the run directory under DIR (report.json, junit.xml, summary.md, index.html, audio)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.stash[STATE_KEY] = RthState.from_config(config)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> ScenarioFile | None:
    return collect_file(file_path, parent)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Record the collected scenarios (their files and hashes go into report.json)."""
    from harness.pytest_plugin.collect import ScenarioItem

    state = config.stash[STATE_KEY]
    state.scenarios = [item.scenario for item in items if isinstance(item, ScenarioItem)]


def pytest_sessionfinish(session: pytest.Session) -> None:
    state = session.config.stash.get(STATE_KEY, None)
    if state is None:
        return
    kept = state.close()
    if kept is not None:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"rth report: {kept / 'index.html'}")
