"""junit.xml: valid against the JUnit (Surefire/Jenkins) schema, with the right counts and kinds.

junit-10.xsd is the schema pytest validates its own --junitxml output with (MIT licence inside).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING

import xmlschema

from harness.report.junit import write_junit
from harness.report.model import FailureKind
from harness.report.run_data import load_run
from harness.report.writer import write_report

if TYPE_CHECKING:
    from tests.support.reports import ReportFactory

SCHEMA = xmlschema.XMLSchema(Path(__file__).with_name("junit-10.xsd"))


def junit_of(run_dir: Path) -> ET.Element:
    path = run_dir / "junit.xml"
    write_junit(load_run(run_dir), path)
    SCHEMA.validate(str(path))
    return ET.parse(path).getroot()


def test_a_failed_expectation_is_a_failure_and_the_file_validates(
    tmp_path: Path, reports: ReportFactory
) -> None:
    root = junit_of(reports.write_run(tmp_path, failing={(0, 0, 0)}))
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("2", "1", "0")
    suite = root.find("testsuite")
    assert suite is not None and suite.get("name") == "smoke"
    cases = {case.get("name"): case for case in root.iter("testcase")}
    failure = cases["weather"].find("failure")
    assert failure is not None and failure.get("type") == "expectation"
    assert "max_first_audio_ms" in (failure.get("message") or "")
    assert cases["booking"].find("failure") is None
    assert cases["weather"].get("time") == "4.000"  # turn.start -> turn.end on the timeline
    out = cases["booking"].findtext("system-out") or ""
    assert "input WER: 0.111" in out and "eleven" in out


def test_session_errors_and_matrix_repeats_get_their_own_suites(
    tmp_path: Path, reports: ReportFactory
) -> None:
    variants = [{"model": "gpt-realtime"}, {"model": "gpt-realtime-mini"}]
    run_dir = reports.write_run(tmp_path, variants=variants, repeats=2)
    data = load_run(run_dir)
    data.report.scenarios.append(
        reports.scenario(
            name="<target>", error='connect refused <&> "quoted"', failure_kind=FailureKind.CONNECT
        )
    )
    write_report(data.report, run_dir / "report.json")
    root = junit_of(run_dir)
    names = [suite.get("name") for suite in root.iter("testsuite")]
    assert "smoke [model=gpt-realtime-mini] #2" in names
    assert (root.get("tests"), root.get("errors")) == ("9", "1")
    target = next(suite for suite in root.iter("testsuite") if suite.get("name") == "<target>")
    error = target.find("testcase/error")
    assert error is not None and error.get("type") == "connect"
    assert error.get("message") == 'connect refused <&> "quoted"'
