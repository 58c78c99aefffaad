"""Shared test helpers: fakes, factories and checks that several test folders use.

Not a test package (pytest collects nothing here), so no test module ever imports another. Test
modules get these helpers through fixtures of ``tests/conftest.py`` and the folder conftests;
where a module-level constant or a module-scoped fixture needs one (the stand-in's load and
workers tests), the module imports it from here directly.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
