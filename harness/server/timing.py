"""Injected delays, so a latency measurement can be checked against a known truth.

Every call gets its own seeded generators (one per kind of delay, so the order in which a call
asks for them does not change the values): with the same ``seed`` the n-th call of a server
draws the same jitter on every run. What was injected, and when the server actually let the
audio out, is kept in :attr:`TimingLog.records` for in-process runners to compare against their
measurements.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum

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
    achieved on its monotonic clock: the first audio frame handed to the sender, or the
    transcription event sent; it exceeds the target when recognition or synthesis took longer.
    ``actual_at`` is that instant as a ``time.monotonic()`` reading, so a client in the same
    process can line it up with its own clock (bench/first_audio_accuracy.py).
    """

    call_id: str
    kind: DelayKind
    subject_id: str
    target_ms: float
    actual_ms: float | None = None
    actual_at: float | None = None

    def reached(self, since: float, at: float | None = None) -> None:
        """The delay ended at monotonic ``at`` (default: now), counted from monotonic ``since``."""
        self.actual_at = time.monotonic() if at is None else at
        self.actual_ms = (self.actual_at - since) * 1000


@dataclass
class TimingLog:
    """Bounded record of the delays a server injected (newest last)."""

    records: deque[TimingRecord] = field(default_factory=lambda: deque(maxlen=MAX_RECORDS))

    def for_response(self, response_id: str) -> TimingRecord | None:
        return next((r for r in reversed(self.records) if r.subject_id == response_id), None)


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
            self._log.records.append(record)
        return record


async def wait_until_ms(since: float, target_ms: float) -> None:
    """Sleep until ``target_ms`` after the monotonic instant ``since`` (at once if already past)."""
    remaining = since + target_ms / 1000 - time.monotonic()
    if remaining > 0:
        await asyncio.sleep(remaining)
