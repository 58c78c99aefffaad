"""``junit.xml``: one test case per turn, one test suite per session, for CI test-result views.

The layout follows the JUnit/Surefire schema that Jenkins, GitLab and the GitHub test-reporter
actions read (tests/report/junit-10.xsd checks it). A failed expectation is a ``<failure>``; a turn
stopped by a connect, timeout, protocol or interrupt problem is an ``<error>``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from harness.report.load_model import LoadReport
from harness.report.model import FailureKind, ScenarioReport, TurnReport
from harness.report.run_data import RunData
from harness.report.stability import failure_kind, variant_label

FAILURE_KINDS = {str(FailureKind.EXPECTATION), str(FailureKind.AUDIO)}


def _time(seconds: float) -> str:
    return f"{max(seconds, 0.0):.3f}"


def _suite_name(scenario: ScenarioReport, repeats: int) -> str:
    name = scenario.name
    if scenario.variant:
        name += f" [{variant_label(scenario)}]"
    if repeats > 1 and scenario.instance is not None:  # "<target>" (no session ran) has no repeat
        name += f" #{scenario.repeat + 1}"
    return name


def _turn_output(turn: TurnReport) -> str:
    lines = [f"user: {turn.user_transcript or '-'}", f"assistant: {turn.assistant_transcript or '-'}"]
    if turn.input_wer is not None:
        lines.append(f"input WER: {turn.input_wer.wer:.3f} (truth: {turn.text})")
    lines += [f"{name}: {value} ms" for name, value in turn.latencies_ms.items() if value is not None]
    if turn.audio_received:
        lines.append(f"received audio: {turn.audio_received}")
    return "\n".join(lines)


def _turn_case(parent: ET.Element, scenario: ScenarioReport, turn: TurnReport, seconds: float) -> str | None:
    case = ET.SubElement(
        parent, "testcase", name=turn.name, classname=f"rth.{scenario.name}", time=_time(seconds)
    )
    kind = failure_kind(turn)
    if kind is not None:
        failed = [v for v in turn.verdicts if not v.passed]
        details = "\n".join(f"{v.name}: measured {v.measured!r}, expected {v.bound!r}" for v in failed)
        message = turn.error or "; ".join(f"{v.name}: {v.measured!r} vs {v.bound!r}" for v in failed)
        tag = "failure" if kind in FAILURE_KINDS else "error"
        ET.SubElement(case, tag, type=kind, message=message).text = "\n".join(
            part for part in (turn.error, details) if part
        )
    ET.SubElement(case, "system-out").text = _turn_output(turn)
    return kind


def build_junit(run: RunData) -> ET.Element:
    report = run.report
    root = ET.Element("testsuites", name=f"rth {report.run_id}")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    total_time = 0.0
    for scenario in report.scenarios:
        suite = ET.SubElement(root, "testsuite", name=_suite_name(scenario, report.repeat))
        properties = ET.SubElement(suite, "properties")
        for name, value in (
            ("target", report.target),
            ("model", scenario.model or report.model),
            ("voice", scenario.voice),
            ("instance", scenario.instance),
            ("call_id", scenario.call_id),
        ):
            if value:
                ET.SubElement(properties, "property", name=name, value=str(value))
        counts = {"tests": 0, "failures": 0, "errors": 0}
        for turn in scenario.turns:
            window = run.turn_window(scenario, turn.index)
            kind = _turn_case(suite, scenario, turn, window[1] - window[0] if window else 0.0)
            counts["tests"] += 1
            if kind is not None:
                counts["failures" if kind in FAILURE_KINDS else "errors"] += 1
        if scenario.error is not None:
            case = ET.SubElement(
                suite, "testcase", name="session", classname=f"rth.{scenario.name}", time="0.000"
            )
            kind = str(scenario.failure_kind or FailureKind.PROTOCOL)
            ET.SubElement(case, "error", type=kind, message=scenario.error).text = scenario.error
            counts["tests"] += 1
            counts["errors"] += 1
        seconds = run.duration_s(scenario)
        total_time += seconds
        suite.set("time", _time(seconds))
        suite.set("skipped", "0")
        for key, count in counts.items():
            suite.set(key, str(count))
            totals[key] += count
    if report.load is not None:
        _threshold_suite(root, report.load, totals)
    for key, count in totals.items():
        root.set(key, str(count))
    root.set("time", _time(total_time))
    return root


def _threshold_suite(root: ET.Element, load: LoadReport, totals: dict[str, int]) -> None:
    """Each `rth load` threshold is a test case (as k6's JUnit summary), named by its expression."""
    suite = ET.SubElement(root, "testsuite", name="rth.load.thresholds", time=_time(load.duration_s))
    failures = 0
    for outcome in load.thresholds:
        case = ET.SubElement(suite, "testcase", name=outcome.expression, classname="rth.load", time="0.000")
        measured = "not measured" if outcome.measured is None else f"{outcome.measured:g}"
        ET.SubElement(case, "system-out").text = f"measured: {measured}"
        if not outcome.passed:
            failures += 1
            message = f"{outcome.expression}: measured {measured}"
            ET.SubElement(case, "failure", type="threshold", message=message).text = message
    for key, count in (("tests", len(load.thresholds)), ("failures", failures), ("errors", 0)):
        suite.set(key, str(count))
        totals[key] += count
    suite.set("skipped", "0")


def write_junit(run: RunData, path: Path) -> None:
    tree = ET.ElementTree(build_junit(run))
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
