"""Reports: the data model of report.json, its writer and the renderers."""

from harness.report.model import FailureKind, RunReport, ScenarioReport, TurnReport, Verdict
from harness.report.table import render_table
from harness.report.writer import read_report, write_report

__all__ = [
    "FailureKind",
    "RunReport",
    "ScenarioReport",
    "TurnReport",
    "Verdict",
    "read_report",
    "render_table",
    "write_report",
]
