"""The terminal table keeps cells short; why a session or turn failed is printed whole under it,
one line each, as written (no rich markup read into it), however long and on whatever terminal."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import pytest
from rich.console import Console

from harness.report import render_table
from harness.report.model import FailureKind

if TYPE_CHECKING:
    from tests.support.reports import ReportFactory

REFUSED = (
    "the target refused the API key (HTTP 401 from http://127.0.0.1:9/v1/realtime/calls: "
    "Incorrect API key provided [check OPENAI_API_KEY]);\nset OPENAI_API_KEY to a key of this project "
    + "x" * 200
)


@pytest.mark.parametrize("width", [60, 200])
def test_a_failed_sessions_reason_is_printed_whole_on_one_line(reports: ReportFactory, width: int) -> None:
    report = reports.run(
        scenarios=[
            reports.scenario(name="auth", error=REFUSED, failure_kind=FailureKind.CONNECT),
            reports.scenario(
                name="cut", error="timed out waiting for response.done", failure_kind=FailureKind.TIMEOUT,
                turns=[reports.turn(0, error="no reply [after 15000 ms]")],
            ),
        ]
    )
    out = io.StringIO()
    render_table(report, Console(file=out, width=width, force_terminal=False, color_system=None))
    lines = out.getvalue().splitlines()
    whole = " ".join(REFUSED.split())
    assert [line for line in lines if whole in line] == [f"auth: {whole}"]
    assert "cut: timed out waiting for response.done" in lines
    assert any(line.endswith(": no reply [after 15000 ms]") for line in lines)
    assert lines[-1].startswith("FAILED: 0/2 scenarios passed")
