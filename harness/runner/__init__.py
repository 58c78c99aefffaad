"""Runs scenarios against a target: one session per scenario, turns and actions, scoring."""

from harness.runner.suite import LOCAL_TARGET, RunOptions, run_suite, session_config

__all__ = ["LOCAL_TARGET", "RunOptions", "run_suite", "session_config"]
