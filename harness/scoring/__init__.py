"""Scoring: a finished session's record in, a complete scenario report with verdicts out.

The stage between the timeline and the report. It reads a :class:`SessionRecord` (and the audio
files it names) and returns a typed :class:`~harness.report.model.ScenarioReport`; the runner
never edits what comes back. Pure but for WAV reads, so it runs in worker processes.
"""

from harness.scoring.record import SessionRecord, TurnRecord
from harness.scoring.run import score_run
from harness.scoring.session import score_session

__all__ = ["SessionRecord", "TurnRecord", "score_run", "score_session"]
