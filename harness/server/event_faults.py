"""Data-channel faults of one call: server events held back, doubled, swapped, withheld or spoilt,
and the channel or the whole peer dropped.

Every server event of a call goes through :meth:`EventFaults.send`. In order:
``no_response_done`` withholds ``response.done``; ``reorder`` holds an event until the next one
has gone (at most :data:`REORDER_HOLD_S`); ``delay`` holds an event ``ms`` longer, and the events
after it wait behind it, as on the ordered channel the API uses; ``duplicate`` sends it twice.
Once an event has gone, ``malformed_event``/``unknown_event`` faults waiting for that type send
their message, and ``drop_data_channel``/``drop_peer`` faults waiting for it drop (nothing more is
sent from then on). Drops given in ms count from the channel's opening. All state is the call's.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Callable
from typing import Any

from harness.protocol import ServerEventType
from harness.protocol.faults import (
    Delay,
    DropDataChannel,
    DropPeer,
    Duplicate,
    Fault,
    MalformedEvent,
    NoResponseDone,
    Reorder,
    UnknownEvent,
)
from harness.server.ids import new_id

REORDER_HOLD_S = 0.5  # an event held for reordering goes anyway when no other follows this soon
DROP_GRACE_S = 0.05  # let the event that triggered a drop leave before the drop
MALFORMED = '{"type":"response.output_audio_transcript.delta","event_id":"event_rth_malformed","delta":"'


class _Counted:
    """A fault and how many times it has applied in this call."""

    def __init__(self, fault: Fault) -> None:
        self.fault = fault
        self.used = 0

    def take(self, event_type: str) -> bool:
        """Whether it applies to this event (and count it if so)."""
        fault = self.fault
        events = getattr(fault, "events", None)
        if events is not None and event_type not in events:
            return False
        if isinstance(fault, NoResponseDone) and event_type != ServerEventType.RESPONSE_DONE:
            return False
        if isinstance(fault, MalformedEvent | UnknownEvent) and event_type != fault.after:
            return False
        times = getattr(fault, "times", None)
        if times is not None and self.used >= times:
            return False
        self.used += 1
        return True


class EventFaults:
    """Server events of one call, faults applied. ``send_text`` puts a message on the channel;
    ``drop_channel``/``drop_peer`` carry out the drops."""

    def __init__(
        self,
        faults: tuple[Fault, ...],
        send_text: Callable[[str], None],
        drop_channel: Callable[[], None],
        drop_peer: Callable[[], None],
    ) -> None:
        self._send_text = send_text
        self._drops: dict[type, Callable[[], None]] = {DropDataChannel: drop_channel, DropPeer: drop_peer}
        self._withhold = [_Counted(f) for f in faults if isinstance(f, NoResponseDone)]
        self._reorder = [_Counted(f) for f in faults if isinstance(f, Reorder)]
        self._delay = [_Counted(f) for f in faults if isinstance(f, Delay)]
        self._duplicate = [_Counted(f) for f in faults if isinstance(f, Duplicate)]
        self._inject = [_Counted(f) for f in faults if isinstance(f, MalformedEvent | UnknownEvent)]
        self._drop_faults = [f for f in faults if isinstance(f, DropDataChannel | DropPeer)]
        self._queue: deque[tuple[float, str, str]] = deque()  # (release time, type, text)
        self._held: tuple[str, str] | None = None
        self._timers: list[asyncio.TimerHandle] = []  # the drops' (a few per call)
        self._hold_timer: asyncio.TimerHandle | None = None
        self._flush_timer: asyncio.TimerHandle | None = None
        self._dropped = False

    def channel_opened(self) -> None:
        """Start the clocks of the drops given in ms."""
        loop = asyncio.get_running_loop()
        for fault in self._drop_faults:
            if not isinstance(fault.after, str):
                self._timers.append(loop.call_later(fault.after / 1000, self._drop, fault))

    def close(self) -> None:
        for timer in (*self._timers, self._hold_timer, self._flush_timer):
            if timer is not None:
                timer.cancel()
        self._dropped = True

    def send(self, event: dict[str, Any]) -> None:
        if self._dropped:
            return
        type_ = str(event.get("type"))
        if any(c.take(type_) for c in self._withhold):
            return
        text = json.dumps(event, separators=(",", ":"))
        if self._held is None and any(c.take(type_) for c in self._reorder):
            self._held = (type_, text)
            self._hold_timer = asyncio.get_running_loop().call_later(REORDER_HOLD_S, self._release_held)
            return
        self._enqueue(type_, text)
        self._release_held()

    def _release_held(self) -> None:
        if self._hold_timer is not None:
            self._hold_timer.cancel()
            self._hold_timer = None
        if self._held is not None:
            held, self._held = self._held, None
            self._enqueue(*held)

    def _enqueue(self, type_: str, text: str) -> None:
        copies = 2 if any(c.take(type_) for c in self._duplicate) else 1
        delay_ms = sum(c.fault.ms for c in self._delay if isinstance(c.fault, Delay) and c.take(type_))
        loop = asyncio.get_running_loop()
        if delay_ms <= 0 and not self._queue:
            for _ in range(copies):
                self._out(type_, text)
            return
        release = max(loop.time() + delay_ms / 1000, self._queue[-1][0] if self._queue else 0.0)
        self._queue.extend([(release, type_, text)] * copies)
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        if self._flush_timer is None and self._queue:
            loop = asyncio.get_running_loop()
            self._flush_timer = loop.call_at(self._queue[0][0], self._flush)

    def _flush(self) -> None:
        self._flush_timer = None
        now = asyncio.get_running_loop().time()
        while self._queue and self._queue[0][0] <= now:
            _, type_, text = self._queue.popleft()
            self._out(type_, text)
        self._schedule_flush()

    def _out(self, type_: str, text: str) -> None:
        """An event leaves; then whatever waits for it (injected messages, drops)."""
        if self._dropped:
            return
        self._send_text(text)
        for counted in self._inject:
            if counted.take(type_):
                fault = counted.fault
                if isinstance(fault, UnknownEvent):
                    self._send_text(json.dumps({"type": fault.type, "event_id": new_id("event")}))
                else:
                    self._send_text(MALFORMED)
        for fault in self._drop_faults:
            if fault.after == type_:
                self._drop(fault)

    def _drop(self, fault: DropDataChannel | DropPeer) -> None:
        if self._dropped:
            return
        self._dropped = True
        self._timers.append(asyncio.get_running_loop().call_later(DROP_GRACE_S, self._drops[type(fault)]))
