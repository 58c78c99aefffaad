"""A run directory read back: report.json plus, when present, the timelines of its sessions.

Renderers take a :class:`RunData`, so ``rth report DIR`` re-renders everything from files alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import UsageError
from harness.protocol import Milestone
from harness.report.model import RunReport, ScenarioReport
from harness.report.writer import read_report
from harness.timeline import TimelineEntry, read_jsonl


@dataclass
class RunData:
    path: Path
    report: RunReport
    timelines: dict[str, list[TimelineEntry]] = field(default_factory=dict)
    _windows: dict[str, dict[int, tuple[float, float]]] = field(default_factory=dict, init=False, repr=False)

    def timeline_of(self, scenario: ScenarioReport) -> list[TimelineEntry]:
        return self.timelines.get(scenario.instance or scenario.name, [])

    def turn_window(self, scenario: ScenarioReport, index: int) -> tuple[float, float] | None:
        """Timeline seconds of the turn's start and end milestones (None when not recorded)."""
        key = scenario.instance or scenario.name
        if key not in self._windows:  # one pass per session, not one per turn and renderer
            self._windows[key] = _turn_windows(self.timeline_of(scenario))
        return self._windows[key].get(index)

    def duration_s(self, scenario: ScenarioReport) -> float:
        """Seconds from the session's first to its last timeline entry (0 without a timeline)."""
        entries = self.timeline_of(scenario)
        return max((e.t for e in entries), default=0.0) - min((e.t for e in entries), default=0.0)


def _turn_windows(entries: list[TimelineEntry]) -> dict[int, tuple[float, float]]:
    """Per turn: its first ``turn.start`` and its last ``turn.end`` (the start when it never ended)."""
    starts: dict[int, float] = {}
    ends: dict[int, float] = {}
    for entry in entries:
        if entry.turn is None:
            continue
        if entry.type == Milestone.TURN_START:
            starts.setdefault(entry.turn, entry.t)
        elif entry.type == Milestone.TURN_END:
            ends[entry.turn] = entry.t
    return {turn: (start, ends.get(turn, start)) for turn, start in starts.items()}


def resolve_run_dir(path: Path) -> Path:
    """Accept a run directory, its report.json, or ``reports/latest``."""
    path = path.resolve()
    if path.is_file() and path.name == "report.json":
        return path.parent
    if (path / "report.json").is_file():
        return path
    raise UsageError(f"{path}: not a run directory (no report.json); pass reports/<run-id>")


def load_run(path: Path, report: RunReport | None = None, *, timelines: bool = True) -> RunData:
    """The run at ``path``. ``report`` is used instead of reading report.json when the caller holds
    it (just written); ``timelines=False`` skips timeline.jsonl for callers that need only the report."""
    run_dir = resolve_run_dir(path)
    if report is None:
        try:
            report = read_report(run_dir / "report.json")
        except ValueError as exc:
            raise UsageError(
                f"{run_dir / 'report.json'}: not a valid rth report: {exc}".splitlines()[0]
            ) from None
    entries = _timelines(run_dir / "timeline.jsonl") if timelines else {}
    return RunData(path=run_dir, report=report, timelines=entries)


def _timelines(path: Path) -> dict[str, list[TimelineEntry]]:
    """The sessions' timelines; none when missing or cut mid-line (a killed run): the report
    still renders, without waveforms and turn durations."""
    try:
        return read_jsonl(path) if path.is_file() else {}
    except ValueError:
        return {}
