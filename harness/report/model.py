"""The report data model: what ``report.json`` holds (versioned), built by the runner's scoring step.

Renderers (terminal table, later JUnit/HTML/Markdown) read only these models, so a report can be
re-rendered from ``report.json`` without re-running anything.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

REPORT_SCHEMA_VERSION = 1


class FailureKind(StrEnum):
    CONNECT = "connect"
    TIMEOUT = "timeout"
    PROTOCOL = "protocol"
    EXPECTATION = "expectation"
    AUDIO = "audio"
    INTERRUPTED = "interrupted"


class Verdict(BaseModel):
    """One checked expectation: the measured value against its bound."""

    name: str
    passed: bool
    measured: Any = None
    bound: Any = None


class TurnReport(BaseModel):
    index: int
    name: str
    text: str | None = None
    audio_sent: str | None = None
    audio_received: str | None = None
    user_transcript: str | None = None
    assistant_transcript: str | None = None
    input_wer: dict[str, Any] | None = Field(default=None, description="WerScore.to_dict() vs `text`")
    response_id: str | None = None
    response_status: str | None = None
    audio_received_non_silent: bool | None = None
    audio_received_peak_dbfs: float | None = None
    latencies_ms: dict[str, float | None] = Field(default_factory=dict)
    verdicts: list[Verdict] = Field(default_factory=list)
    error: str | None = None
    failure_kind: FailureKind | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and all(v.passed for v in self.verdicts)


class ScenarioReport(BaseModel):
    name: str
    source: str | None = None
    call_id: str | None = None
    connect_ms: dict[str, float | None] = Field(default_factory=dict)
    turns: list[TurnReport] = Field(default_factory=list)
    pooled_input_wer: dict[str, Any] | None = None
    error_events: int = 0
    error: str | None = None
    failure_kind: FailureKind | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and all(turn.passed for turn in self.turns)


class RunReport(BaseModel):
    schema_version: int = REPORT_SCHEMA_VERSION
    run_id: str
    tool_version: str
    started_at: str
    finished_at: str | None = None
    target: str = Field(description="Base URL (never the key), or 'local' for the in-process stand-in")
    connect_mode: str
    model: str
    interrupted: bool = False
    scenarios: list[ScenarioReport] = Field(default_factory=list)
    pooled_input_wer: dict[str, Any] | None = None
    latency_summary_ms: dict[str, dict[str, float | None]] = Field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not self.interrupted and all(s.passed for s in self.scenarios)
