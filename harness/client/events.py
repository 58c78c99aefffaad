"""Data-channel event I/O: send client events, log every server event, wait for one.

Every message is handled the moment it arrives (aiortc calls the "message" listener from the
SCTP transport task), so nothing is dropped while nobody waits: events land in :attr:`received`
and on the timeline as RECEIVED entries stamped on arrival. A waiter later scans that log.

Waiting semantics (:meth:`EventChannel.wait_for`), first logged event in arrival order with the
requested type that satisfies ``match`` and:

* ``after=t`` given: was received at timeline time ``>= t``. Stateless, like ``Timeline.first``:
  asking twice returns the same event; narrow with ``after``/``match``.
* ``after`` omitted: has not been returned by an earlier ``wait_for`` (of either kind). So a plain
  ``wait_for("response.done")`` per turn walks through the events one by one, like a queue.

Either way events that arrived before the call count: nothing is missed by waiting late.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import Callable, Collection, Mapping
from typing import Any

from harness.errors import ConnectError, ConnectionLost, ProtocolError, ServerEventTimeout
from harness.protocol.events import INVALID_MESSAGE
from harness.timeline import EntryKind, Timeline

Event = dict[str, Any]
Matcher = Callable[[Event], bool]

_RAW_KEEP = 200  # characters of an invalid message kept on the timeline


def new_event_id() -> str:
    """A client event id in the style of the API's ids (``evt_`` + 20 hex digits)."""
    return f"evt_{secrets.token_hex(10)}"


class EventChannel:
    """JSON events over one RTCDataChannel, mirrored onto a :class:`Timeline`."""

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        self.received: list[Event] = []
        self.protocol_errors: list[ProtocolError] = []
        self._times: list[float] = []  # timeline t of received[i]
        self._returned: set[int] = set()  # indices handed out by wait_for
        self._arrival = asyncio.Event()
        self._channel: Any = None
        self._closed: ConnectError | None = None

    def attach(self, channel: Any) -> None:
        """Listen on an aiortc RTCDataChannel; call right after createDataChannel."""
        self._channel = channel
        channel.on("message", self.handle_message)
        channel.on("close", lambda: self.fail(ConnectionLost("the data channel closed")))

    # ---- receiving -------------------------------------------------------------------------

    def handle_message(self, message: str | bytes) -> None:
        """Log one data-channel message; malformed ones become a recorded ProtocolError."""
        t = self.timeline.now()
        if isinstance(message, bytes):
            self._invalid(t, "binary data-channel message (events are JSON text)", repr(message[:_RAW_KEEP]))
            return
        try:
            event = json.loads(message)
        except ValueError as exc:
            self._invalid(t, f"data-channel message is not JSON ({exc})", message[:_RAW_KEEP])
            return
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            self._invalid(
                t, "data-channel message is not an event object with a string 'type'", message[:_RAW_KEEP]
            )
            return
        self.received.append(event)
        self._times.append(t)
        self.timeline.record(EntryKind.RECEIVED, event["type"], event, t=t)
        self._wake()

    def _invalid(self, t: float, reason: str, raw: str) -> None:
        self.protocol_errors.append(ProtocolError(reason))
        self.timeline.record(EntryKind.RECEIVED, INVALID_MESSAGE, {"error": reason, "raw": raw}, t=t)

    def _wake(self) -> None:
        self._arrival.set()
        self._arrival = asyncio.Event()

    def fail(self, error: ConnectError) -> None:
        """Mark the channel unusable: current and future waiters raise ``error`` (first one wins)."""
        if self._closed is None:
            self._closed = error
            self._wake()

    # ---- sending ---------------------------------------------------------------------------

    async def send(self, event: Mapping[str, Any]) -> Event:
        """Send one client event (adds ``event_id`` if missing), record it as SENT, return it.

        Async so that flow control (waiting on ``bufferedAmount``) can be added without an API change.
        """
        if "type" not in event:
            raise ValueError("a client event needs a 'type'")
        sent: Event = dict(event)
        sent.setdefault("event_id", new_event_id())
        channel = self._channel
        if self._closed is not None:
            raise type(self._closed)(f"cannot send {str(sent['type'])!r}: {self._closed}")
        if channel is None or channel.readyState != "open":
            state = "missing" if channel is None else channel.readyState
            raise ConnectError(f"cannot send {str(sent['type'])!r}: the data channel is {state}")
        channel.send(json.dumps(sent, separators=(",", ":")))
        self.timeline.record(EntryKind.SENT, sent["type"], sent)
        return sent

    # ---- waiting ---------------------------------------------------------------------------

    def find(
        self,
        types: Collection[str],
        *,
        after: float | None = None,
        match: Matcher | None = None,
        start: int = 0,
    ) -> int | None:
        """Index of the first logged event fitting the filters (see module doc), from ``start`` on."""
        for index in range(start, len(self.received)):
            event = self.received[index]
            if (
                event["type"] in types
                and (index not in self._returned if after is None else self._times[index] >= after)
                and (match is None or match(event))
            ):
                return index
        return None

    async def wait_for_any(
        self,
        types: Collection[str],
        *,
        timeout: float,
        after: float | None = None,
        match: Matcher | None = None,
    ) -> Event:
        """Like :meth:`wait_for` for several types at once (the first event of any of them)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        scanned = 0
        while True:
            arrival = self._arrival  # grab before scanning: a message logged after this sets it
            index = self.find(types, after=after, match=match, start=scanned)
            if index is not None:
                self._returned.add(index)
                return self.received[index]
            scanned = len(self.received)
            if self._closed is not None:  # same class: a lost connection stays one
                raise type(self._closed)(f"{self._closed} while waiting for {_names(types)}")
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise ServerEventTimeout(f"no {_names(types)} event within {timeout:g} s")
            # asyncio.timeout, not wait_for: on 3.11 wait_for loses a cancel that lands in the
            # step the inner wait finished, and this loop would then wait on.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await arrival.wait()

    async def wait_for(
        self,
        type_: str,
        *,
        timeout: float,
        after: float | None = None,
        match: Matcher | None = None,
    ) -> Event:
        """The first ``type_`` event received at ``t >= after`` (or, without ``after``, not yet
        returned) that satisfies ``match``, waiting up to ``timeout`` s; else ServerEventTimeout."""
        return await self.wait_for_any((type_,), timeout=timeout, after=after, match=match)

    def time_of(self, event: Event) -> float | None:
        """Timeline t at which this exact event object arrived (identity lookup, newest first)."""
        for index in range(len(self.received) - 1, -1, -1):
            if self.received[index] is event:
                return self._times[index]
        return None


def _names(types: Collection[str]) -> str:
    return " or ".join(repr(str(name)) for name in types)
