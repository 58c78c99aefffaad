"""What a finished session hands to scoring: everything measured, nothing judged.

The runner fills a :class:`SessionRecord` while the session runs and freezes it when the session
ends (however it ends). Scoring reads only this record and the files it names, so it can run in
another process and the report it returns is complete: nothing is patched onto it afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.report.model import FailureKind
from harness.scenario import Scenario, TurnMode
from harness.timeline import TimelineEntry


@dataclass
class TurnRecord:
    """One turn as it ran. ``audio_source`` is the scenario's WAV; ``audio_sent`` the exact samples
    sent (gain and trim applied), written into the run directory; ``audio_received`` the reply's
    capture, with its level figures (the capture measured them frame by frame as it wrote)."""

    index: int
    label: str
    mode: TurnMode = "manual"
    audio_source: Path | None = None
    audio_sent: Path | None = None
    audio_received: Path | None = None
    received_non_silent: bool | None = None
    received_peak_dbfs: float | None = None
    error: str | None = None
    failure_kind: FailureKind | None = None


@dataclass(frozen=True)
class SessionRecord:
    """One planned session, finished: the scenario as run, where and how, and what was recorded."""

    scenario: Scenario
    instance: str  # unique in the run: timeline session name and audio/ subfolder
    root: Path  # the run directory; report paths are relative to it
    entries: tuple[TimelineEntry, ...]
    turns: tuple[TurnRecord, ...]
    rtp: dict[str, float | int | None] | None = None  # audio RTP counters at hang-up
    started_at: str | None = None  # wall clock (ISO 8601, UTC) when the timeline began
    duration_s: float | None = None  # on the session's monotonic clock, connect to hang-up
    variant: dict[str, str] = field(default_factory=dict)
    repeat: int = 0
    model: str | None = None
    voice: str | None = None
    call_id: str | None = None
    error: str | None = None
    failure_kind: FailureKind | None = None
