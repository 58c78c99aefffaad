"""A scripted stand-in for RealtimeSession: no network, no real time, known answers.

``send`` records the client event and immediately records the server events a ``Responder``
returns for it; ``play`` records the clip's start and end milestones and advances a fake clock by
the clip's duration; ``wait_for`` searches what was recorded (nothing arrives later, so a miss is
a ServerEventTimeout at once). The runner cannot tell it from a session on the wire.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import soundfile

from harness.client import RealtimeSession
from harness.errors import ServerEventTimeout
from harness.timeline import EntryKind, Milestone, Timeline

Event = dict[str, Any]
PLAYED = "<played>"
Responder = Callable[[Event], list[Event]]


class FakeClock:
    def __init__(self) -> None:
        self.now = 10.0


class FakeTimeline(Timeline):
    def __init__(self, clock: FakeClock) -> None:
        super().__init__("fake")
        self.clock = clock

    def now(self) -> float:
        return self.clock.now


@dataclass
class FakeDetector:
    active: bool = False


@dataclass
class FakeCaptured:
    path: Path
    duration_s: float = 1.0
    peak_dbfs: float = -6.0
    non_silent: bool = True


@dataclass
class FakeCapture:
    detector: FakeDetector = field(default_factory=FakeDetector)
    segments: list[Path] = field(default_factory=list)

    def begin_segment(self, path: Path) -> None:
        self.segments.append(path)

    def end_segment(self) -> FakeCaptured:
        return FakeCaptured(self.segments[-1])


def no_reply(event: Event) -> list[Event]:
    return []


class FakeSession:
    PLAYED = PLAYED  # the type of the pseudo-event a responder gets once a clip has played

    def __init__(self, responder: Responder = no_reply) -> None:
        self.clock = FakeClock()
        self.timeline = FakeTimeline(self.clock)
        self.responder = responder
        self.capture = FakeCapture()
        self.sent: list[Event] = []
        self.played: list[Path] = []
        self._ids = 0

    def advance(self, seconds: float) -> None:
        self.clock.now = round(self.clock.now + seconds, 6)

    async def send(self, event: Event) -> Event:
        self._ids += 1
        sent = {"event_id": f"evt_{self._ids}", **event}
        self.sent.append(sent)
        self.timeline.record(EntryKind.SENT, sent["type"], sent)
        self.advance(0.001)
        for reply in self.responder(sent):
            self.receive(reply)
        return sent

    def begin_output_recording(self, path: Path) -> None:
        self.capture.begin_segment(path)

    def end_output_recording(self) -> FakeCaptured:
        return self.capture.end_segment()

    @property
    def output_audio_active(self) -> bool:
        return self.capture.detector.active

    def receive(self, event: Event) -> None:
        self.advance(0.010)
        self.timeline.record(EntryKind.RECEIVED, event["type"], event)

    update_session = RealtimeSession.update_session  # the real one: send + wait_for_any, both faked here

    async def wait_for(
        self, type_: str, timeout: float = 10.0, *, after: float | None = None, match: Any = None
    ) -> Event:
        return await self.wait_for_any((type_,), timeout, after=after, match=match)

    async def wait_for_any(
        self, types: Collection[str], timeout: float = 10.0, *, after: float | None = None, match: Any = None
    ) -> Event:
        for entry in self.timeline.entries:
            if (
                entry.kind == EntryKind.RECEIVED
                and entry.type in types
                and (after is None or entry.t >= after)
                and (match is None or match(entry.data))
            ):
                return entry.data
        raise ServerEventTimeout(f"no {' or '.join(types)} event within {timeout:g} s")

    async def play(self, path: Path, gain_db: float = 0.0) -> None:
        """Mark the clip's first and last frame a clip's length apart, then let the server react
        (a VAD turn) through the responder's pseudo-event ``{"type": "<played>", "path": ...}``."""
        self.played.append(Path(path))
        duration = soundfile.info(str(path)).duration
        self.timeline.mark(Milestone.INPUT_AUDIO_START, {"path": str(path)})
        self.advance(duration - 0.02)
        self.timeline.mark(Milestone.INPUT_AUDIO_END, {"path": str(path)})
        self.advance(0.02)
        for reply in self.responder({"type": PLAYED, "path": str(path)}):
            self.receive(reply)
