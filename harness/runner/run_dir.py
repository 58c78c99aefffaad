"""The run directory and its persistence: report.json, the timeline stream, ``latest``, renders.

``reports/<run-id>/report.json`` is rewritten whenever a session finishes and once more at the end
(errors and Ctrl-C included), so nothing measured is lost. Sessions finish in any order when they
run side by side; the report lists them in plan order.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from harness import __version__
from harness.errors import UsageError
from harness.report.model import RunReport, ScenarioReport
from harness.report.prices import PriceTable, apply_prices, load_prices
from harness.report.provenance import environment, scenario_file
from harness.report.stability import stability
from harness.report.writer import write_report
from harness.runner.options import RunOptions
from harness.scenario import Scenario, resolve_audio
from harness.scoring import score_run

logger = logging.getLogger(__name__)


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


class RunDirectory:
    """An open run directory: the report header, the timeline stream and the finished sessions."""

    def __init__(self, options: RunOptions, scenarios: Sequence[Scenario]) -> None:
        self.options = options
        self.prices: PriceTable = load_prices(options.prices)  # a bad table fails before any call
        run_id = options.run_id or new_run_id()
        self.path = options.out / run_id
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            self.timeline = (self.path / "timeline.jsonl").open("w", encoding="utf-8")
        except OSError as exc:
            raise UsageError(
                f"--out {options.out}: cannot write the run directory ({exc.strerror}); "
                "pick a writable folder"
            ) from None
        _point_latest(options.out, run_id)
        self.header = RunReport(
            run_id=run_id,
            tool_version=__version__,
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
            target=options.target,
            connect_mode=str(options.connect),
            model=options.model,
            repeat=options.repeat,
            matrix=options.matrix,
            config=options.describe(),
            scenario_files=[
                scenario_file(
                    s.source, [resolve_audio(s, clip.path) for t in s.turns for _, clip in t.clips()]
                )
                for s in scenarios
                if s.source is not None and s.source.is_file()
            ],
            environment=environment(),
        )
        self._sessions: dict[int, ScenarioReport] = {}
        self.report = self.header

    @property
    def report_path(self) -> Path:
        return self.path / "report.json"

    def add(self, position: int, report: ScenarioReport) -> None:
        """Keep a finished session's report at its plan position and rewrite report.json."""
        self._sessions[position] = report
        self.save()

    def save(self) -> RunReport:
        """Score the run over the sessions so far (plan order) and write report.json."""
        scenarios = [self._sessions[position] for position in sorted(self._sessions)]
        report = apply_prices(score_run(self.header, scenarios), self.prices)
        if report.repeat > 1:
            report = report.model_copy(update={"stability": [row.model() for row in stability(report)]})
        self.report = report
        write_report(self.report, self.report_path)
        return self.report

    def finish(self, *, interrupted: bool = False) -> RunReport:
        """Write the final report, close the timeline, render junit.xml, summary.md and index.html."""
        self.header = self.header.model_copy(
            update={
                "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "interrupted": interrupted,
            }
        )
        report = self.save()
        self.timeline.close()
        if self.options.render:
            try:
                from harness.report.render import render_run

                render_run(self.path, report)
            except Exception:  # a renderer bug must not cost the measurements (report.json is written)
                logger.exception("rendering the reports of %s failed; retry with `rth report`", self.path)
        return report


def _point_latest(out: Path, run_id: str) -> None:
    """``reports/latest`` -> the newest run. Only ever a symlink, swapped in atomically (a new one
    renamed over the old), so a reader never finds it missing or half made; a real file or folder
    of that name is left alone, and a filesystem without symlinks simply has no ``latest``."""
    latest = out / "latest"
    if latest.exists() and not latest.is_symlink():
        logger.warning("%s is not a symlink; left alone (the run is in %s)", latest, out / run_id)
        return
    temporary = out / f".latest-{run_id}"
    try:
        temporary.symlink_to(run_id, target_is_directory=True)
        os.replace(temporary, latest)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink()
