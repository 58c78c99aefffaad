"""Injected delays, so a latency measurement can be checked against a known truth.

Every call gets its own seeded generators (one per kind of delay, so the order in which a call
asks for them does not change the values): with the same ``seed`` the n-th call of a server
draws the same jitter on every run. What was injected, and when the server actually let the
audio out, is kept in :attr:`TimingLog.records` for in-process runners to compare against their
measurements; with ``ServerConfig(timing_log_path=...)`` (``rth serve --timing-log FILE``)
each record is also appended to that file as one JSON line once it is complete, for a runner in
another process (:func:`read_timing_log`; ``actual_at`` is CLOCK_MONOTONIC, the same in every
process of one Linux machine).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from harness.server.config import ServerConfig

MAX_RECORDS = 10_000


class DelayKind(StrEnum):
    FIRST_AUDIO = "first_audio"
    TRANSCRIPTION = "transcription"


@dataclass
class TimingRecord:
    """One injected delay.

    ``target_ms`` is the delay asked for (base + jitter), from ``response.created`` (first audio)
    or from ``input_audio_buffer.committed`` (transcription). ``actual_ms`` is what the server
    achieved on its monotonic clock: the reply's first RTP packet handed to the socket
    (:mod:`harness.server.send_clock`; the first frame handed to the sender when no packet was
    seen), or the transcription event sent; it exceeds the target when recognition or synthesis took longer.
    ``actual_at`` is that instant as a ``time.monotonic()`` reading, so a client in the same
    process can line it up with its own clock (bench/first_audio_accuracy.py).
    """

    call_id: str
    kind: DelayKind
    subject_id: str
    target_ms: float
    actual_ms: float | None = None
    actual_at: float | None = None
    log: TimingLog | None = field(default=None, repr=False, compare=False)  # told when reached

    def reached(self, since: float, at: float | None = None) -> None:
        """The delay ended at monotonic ``at`` (default: now), counted from monotonic ``since``."""
        self.actual_at = time.monotonic() if at is None else at
        self.actual_ms = (self.actual_at - since) * 1000
        if self.log is not None:
            self.log.completed(self)

    def to_json(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "kind": str(self.kind),
            "subject_id": self.subject_id,
            "target_ms": self.target_ms,
            "actual_ms": self.actual_ms,
            "actual_at": self.actual_at,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TimingRecord:
        return cls(
            call_id=str(data["call_id"]),
            kind=DelayKind(data["kind"]),
            subject_id=str(data["subject_id"]),
            target_ms=float(data["target_ms"]),
            actual_ms=None if data.get("actual_ms") is None else float(data["actual_ms"]),
            actual_at=None if data.get("actual_at") is None else float(data["actual_at"]),
        )


@dataclass
class TimingLog:
    """Bounded record of the delays a server injected (newest last)."""

    records: deque[TimingRecord] = field(default_factory=lambda: deque(maxlen=MAX_RECORDS))
    path: Path | None = None  # where complete records are appended as JSON lines, if anywhere
    _sink: IO[str] | None = field(default=None, repr=False, compare=False)

    def for_response(self, response_id: str) -> TimingRecord | None:
        return next((r for r in reversed(self.records) if r.subject_id == response_id), None)

    def add(self, record: TimingRecord) -> None:
        record.log = self
        self.records.append(record)

    def completed(self, record: TimingRecord) -> None:
        """``record`` reached its end: one JSON line to :attr:`path` (a small buffered write on
        the loop, flushed at once so a reader in another process sees it)."""
        if self.path is None:
            return
        if self._sink is None:
            self._sink = self.path.open("a", encoding="utf-8")
        self._sink.write(json.dumps(record.to_json(), separators=(",", ":")) + "\n")
        self._sink.flush()

    def close(self) -> None:
        if self._sink is not None:
            self._sink.close()
            self._sink = None


def read_timing_log(path: Path) -> list[TimingRecord]:
    """The complete records a stand-in appended to ``path`` (``timing_log_path``), oldest first;
    a last line still being written is left out."""
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(TimingRecord.from_json(json.loads(line)))
        except (ValueError, KeyError):
            continue
    return records


class CallTiming:
    """The delays of one call: draw a target, then sleep until it is reached."""

    def __init__(self, config: ServerConfig, call_id: str, call_index: int, log: TimingLog) -> None:
        self._config = config
        self._call_id = call_id
        self._log = log
        self._rngs = {kind: random.Random(f"{config.seed}:{call_index}:{kind}") for kind in DelayKind}

    def _base_ms(self, kind: DelayKind) -> float:
        if kind is DelayKind.FIRST_AUDIO:
            return self._config.first_audio_delay_ms
        return self._config.transcription_delay_ms

    @property
    def active(self) -> bool:
        config = self._config
        return bool(config.first_audio_delay_ms or config.transcription_delay_ms or config.jitter_ms)

    def plan(self, kind: DelayKind, subject_id: str) -> TimingRecord:
        jitter = self._rngs[kind].uniform(0.0, self._config.jitter_ms) if self._config.jitter_ms else 0.0
        record = TimingRecord(self._call_id, kind, subject_id, self._base_ms(kind) + jitter)
        if self.active:
            self._log.add(record)
        return record


async def wait_until_ms(since: float, target_ms: float) -> None:
    """Sleep until ``target_ms`` after the monotonic instant ``since`` (at once if already past)."""
    remaining = since + target_ms / 1000 - time.monotonic()
    if remaining > 0:
        await asyncio.sleep(remaining)
