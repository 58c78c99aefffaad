"""Test copies of the committed suites whose latency budgets have room for a loaded machine.

The demo suites keep their budgets (smoke: first audio <= 3000 ms; features: cancel-to-silence
<= 500 ms, ...): ``make demo`` and a user's CI gate on them, and ``bench/suite_budgets.py``
measures how they hold. Tests that run those suites end to end still check every expectation,
latency verdicts included, but on a copy whose latency bounds are :data:`RELAX_FACTOR` times as
large: on a 2-core machine shared with other jobs a first audio of 3.5 s is the machine, not a
bug. A latency verdict still fails when its figure is missing or wrong by seconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.support import REPO_ROOT

RELAX_FACTOR = 5.0
_BOUND_KEYS = {"max_first_audio_ms", "max_response_done_ms"}  # older spellings of latency bounds


def relaxed_copy(source: Path, folder: Path, factor: float = RELAX_FACTOR) -> Path:
    """``source`` (a suite under scenarios/) written to ``folder/scenarios/`` with every latency
    bound times ``factor``; ``folder/fixtures`` links to the repository's, so the suite's relative
    clip paths (``../fixtures/audio/...``) resolve as they do for the original."""
    fixtures = folder / "fixtures"
    if not fixtures.exists():
        fixtures.symlink_to(REPO_ROOT / "fixtures", target_is_directory=True)
    copy = folder / "scenarios" / source.name
    copy.parent.mkdir(parents=True, exist_ok=True)
    document = yaml.safe_load(source.read_text(encoding="utf-8"))
    copy.write_text(yaml.safe_dump(_relax(document, factor), sort_keys=False), encoding="utf-8")
    return copy


def _relax(node: Any, factor: float, *, in_latency: bool = False) -> Any:
    if isinstance(node, dict):
        return {
            key: _scaled(value, factor)
            if key in _BOUND_KEYS
            else _relax(value, factor, in_latency=in_latency or key == "latency")
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_relax(item, factor, in_latency=in_latency) for item in node]
    return _scaled(node, factor) if in_latency else node


def _scaled(value: Any, factor: float) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    return value * factor
