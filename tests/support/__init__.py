"""Shared test helpers: fakes, factories and checks that several test folders use.

Not a test package (pytest collects nothing here). Test modules never import from it at run time:
they get these helpers through fixtures of ``tests/conftest.py`` and the folder conftests, which
are the only importers (test modules may import names for annotations under TYPE_CHECKING).
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
