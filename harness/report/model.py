"""The report data model: what ``report.json`` holds (versioned), built by the runner's scoring step.

Renderers (terminal table, JUnit, Markdown, HTML, compare) read only these models, so a report can be
re-rendered from ``report.json`` without re-running anything.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from harness.metrics.wer import PooledWer, WerScore
from harness.report.load_model import LoadReport

REPORT_SCHEMA_VERSION = 2


class FailureKind(StrEnum):
    CONNECT = "connect"  # the call could not be set up (refused, HTTP errors after retries, no answer)
    DISCONNECTED = "disconnected"  # a connected call lost its peer connection or data channel
    TIMEOUT = "timeout"
    PROTOCOL = "protocol"
    EXPECTATION = "expectation"
    AUDIO = "audio"
    INTERRUPTED = "interrupted"
    INTERNAL = "internal"  # a bug in rth itself, kept to its own session
    WORKER_LOST = "worker_lost"  # the load worker hosting the session died


class Verdict(BaseModel):
    """One checked expectation: the measured value against its bound."""

    name: str
    passed: bool
    measured: Any = None
    bound: Any = None
    detail: str | None = Field(default=None, description="How it was measured, or why it could not be")

    def describe(self) -> str:
        """One line for tables and CI logs: ``latency.first_audio_ms: 1412 > 1200``,
        ``response_status: cancelled, expected completed``."""
        numeric = all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in (self.measured, self.bound)
        )
        if self.measured is None:
            text = f"{self.name}: not measured, expected {_short(self.bound)}"
        elif numeric:
            text = f"{self.name}: {_short(self.measured)} {'<=' if self.passed else '>'} {_short(self.bound)}"
        else:
            text = f"{self.name}: {_short(self.measured)}, expected {_short(self.bound)}"
        return f"{text} ({self.detail})" if self.detail and self.detail != "not measured" else text


def _short(value: Any, limit: int = 60) -> str:
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class TokenUsage(BaseModel):
    """Tokens billed, summed over the ``usage`` of ``response.done`` events; cost from a price table."""

    responses: int = 0
    input_text: int = 0
    input_audio: int = 0
    input_cached_text: int = 0
    input_cached_audio: int = 0
    output_text: int = 0
    output_audio: int = 0
    cost_usd: float | None = Field(default=None, description="None when the model has no price")

    @property
    def input_tokens(self) -> int:
        return self.input_text + self.input_audio

    @property
    def output_tokens(self) -> int:
        return self.output_text + self.output_audio

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class RtpStats(BaseModel):
    """A session's audio RTP counters at hang-up (aiortc's getStats): what an impaired network shows."""

    packets_sent: int | None = None
    packets_received: int | None = None
    packets_lost: int | None = Field(
        default=None,
        description="Received audio: sequence numbers between the lowest and highest received that "
        "never came (never negative, unlike RFC 3550's expected-minus-received)",
    )
    jitter_ms: float | None = Field(
        default=None, description="Interarrival jitter (RFC 3550) of received audio"
    )
    packets_out_of_order: int | None = Field(
        default=None,
        description="Received audio packets that came after a later-numbered one (reordered or "
        "repeated); a network that reorders shows here, a late sender does not",
    )
    remote_packets_lost: int | None = Field(
        default=None, description="Of the packets sent, those the far end reported lost (RTCP)"
    )
    remote_jitter_ms: float | None = Field(
        default=None, description="Jitter of the audio sent, as the far end reported it (RTCP)"
    )


class ScenarioFile(BaseModel):
    """A scenario file as it was run: its path, content hash and text, and the hashes of its WAVs."""

    path: str
    sha256: str
    text: str | None = None
    audio_sha256: dict[str, str] = Field(default_factory=dict)


class TurnReport(BaseModel):
    index: int
    name: str
    text: str | None = None
    audio_sent: str | None = Field(
        default=None, description="The exact audio sent (gain and trim applied), in the run directory"
    )
    audio_received: str | None = None
    user_transcript: str | None = None
    assistant_transcript: str | None = None
    input_wer: WerScore | None = Field(default=None, description="User transcript vs `text`")
    response_id: str | None = None
    response_status: str | None = None
    audio_received_non_silent: bool | None = None
    audio_received_peak_dbfs: float | None = None
    latencies_ms: dict[str, float | None] = Field(default_factory=dict)
    verdicts: list[Verdict] = Field(default_factory=list)
    error: str | None = None
    failure_kind: FailureKind | None = None
    audio_source: str | None = Field(default=None, description="The scenario's own WAV")
    usage: TokenUsage | None = None
    mode: str | None = Field(default=None, description="manual (push-to-talk) or vad (server turn detection)")
    say: str | None = Field(default=None, description="The typed user message, for a `say` turn")
    reply: str | None = Field(default=None, description="The expected assistant reply (for output WER)")
    output_wer: WerScore | None = Field(default=None, description="Assistant transcript vs `reply`")
    audio_transcript: str | None = Field(
        default=None, description="Offline re-transcription of the captured assistant audio"
    )
    consistency_wer: WerScore | None = Field(
        default=None, description="audio_transcript vs the assistant transcript"
    )
    perturbation: dict[str, Any] | None = Field(
        default=None, description="The perturbation settings the turn's clips were degraded with"
    )

    @property
    def passed(self) -> bool:
        return self.error is None and all(v.passed for v in self.verdicts)


class ScenarioReport(BaseModel):
    name: str
    source: str | None = None
    call_id: str | None = None
    connect_ms: dict[str, float | None] = Field(default_factory=dict)
    turns: list[TurnReport] = Field(default_factory=list)
    pooled_input_wer: PooledWer | None = None
    error_events: int = 0
    invalid_messages: int = Field(
        default=0, description="Data-channel messages that were not JSON events (kept on the timeline)"
    )
    connect_retries: int = Field(default=0, description="Session-creating requests retried (429/5xx)")
    error: str | None = None
    failure_kind: FailureKind | None = None
    instance: str | None = Field(
        default=None, description="Timeline session and audio/ subfolder; unique per variant and repeat"
    )
    variant: dict[str, str] = Field(default_factory=dict, description="Matrix values, e.g. {model: ...}")
    repeat: int = Field(default=0, description="0-based repetition index (--repeat)")
    model: str | None = None
    voice: str | None = None
    usage: TokenUsage | None = None
    tags: list[str] = Field(default_factory=list)
    pooled_output_wer: PooledWer | None = None
    pooled_consistency_wer: PooledWer | None = None
    verdicts: list[Verdict] = Field(default_factory=list, description="Scenario-level expectations")
    started_at: str | None = Field(default=None, description="Wall clock (UTC) when the session began")
    rtp: RtpStats | None = Field(default=None, description="Audio RTP counters at hang-up")
    duration_s: float | None = Field(default=None, description="Connect to hang-up, monotonic clock")

    @property
    def passed(self) -> bool:
        return (
            self.error is None
            and all(turn.passed for turn in self.turns)
            and all(v.passed for v in self.verdicts)
        )


class StabilityRow(BaseModel):
    """One scenario (``turn`` None) or turn of one variant over the repeats (``rth run --repeat``)."""

    variant: str = ""
    scenario: str
    turn: str | None = None
    runs: int
    passed: int
    failures: dict[str, int] = Field(default_factory=dict, description="Failure kind -> count")
    pass_at_k: list[float] = Field(
        default_factory=list, description="[k-1] = chance that at least one of k runs passes (k = 1..runs)"
    )
    pass_hat_k: list[float] = Field(
        default_factory=list, description="[k-1] = chance that all of k runs pass (pass^k, k = 1..runs)"
    )


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
    pooled_input_wer: PooledWer | None = None
    pooled_output_wer: PooledWer | None = None
    pooled_consistency_wer: PooledWer | None = None
    latency_summary_ms: dict[str, dict[str, float | None]] = Field(default_factory=dict)
    repeat: int = 1
    matrix: dict[str, list[str]] = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict, description="The options of the run, as given")
    scenario_files: list[ScenarioFile] = Field(default_factory=list)
    environment: dict[str, Any] = Field(default_factory=dict)
    usage: TokenUsage | None = None
    prices: dict[str, Any] | None = Field(default=None, description="The price table used for cost_usd")
    load: LoadReport | None = Field(default=None, description="What `rth load` measured (load runs only)")
    stability: list[StabilityRow] = Field(
        default_factory=list, description="With --repeat: pass rate, pass@k and pass^k per scenario and turn"
    )

    @property
    def passed(self) -> bool:
        if self.load is not None:  # thresholds decide a load run (as k6); samples are evidence
            return not self.interrupted and self.load.passed
        return not self.interrupted and all(s.passed for s in self.scenarios)
