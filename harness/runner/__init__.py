"""Runs scenarios against a target: plans sessions, runs them side by side, hands them to scoring.

``options`` (what was asked), ``targets`` (where each scenario runs), ``run_dir`` (the run
directory and its persistence), ``schedule`` (N sessions at a time), ``session_run`` (one
session), ``turns``/``actions``/``modes``/``speech`` (driving a turn), ``workers`` (CPU work off
the loop), ``progress`` (hooks for a live view).
"""

from harness.runner.options import DEFAULT_CONCURRENCY, LOCAL_TARGET, RunOptions
from harness.runner.progress import NoObserver, RunObserver
from harness.runner.schedule import run_suite
from harness.runner.session_run import session_config

__all__ = [
    "DEFAULT_CONCURRENCY",
    "LOCAL_TARGET",
    "NoObserver",
    "RunObserver",
    "RunOptions",
    "run_suite",
    "session_config",
]
