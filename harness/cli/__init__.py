"""``rth``: a thin Typer layer over the runner, the stand-in server, scenarios and reports.

One module per command family; each registers its commands on :data:`app` when imported, so the
import order below is the order of ``rth --help``.
Exit codes: 0 every expectation met, 1 some failed (or the run failed), 2 bad usage or input
(a one-line error, never a traceback), 130 interrupted (the partial report is still written).
"""
# isort: skip_file

from harness.cli._app import app
from harness.cli import run
from harness.cli import load
from harness.cli import serve
from harness.cli import scenarios
from harness.cli import reports
from harness.cli import fixtures

__all__ = ["app", "fixtures", "load", "reports", "run", "scenarios", "serve"]
