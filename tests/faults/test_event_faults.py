"""A call's data-channel faults, event by event: what leaves, in which order, and when the drops fire."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import TypeAdapter

from harness.protocol.faults import Fault
from harness.server.event_faults import MALFORMED, REORDER_HOLD_S, EventFaults

FAULTS: TypeAdapter[tuple[Fault, ...]] = TypeAdapter(tuple[Fault, ...])


class Channel:
    """What left, as event types (or the raw text of a non-JSON message), and the drops."""

    def __init__(self, *faults: dict[str, Any]) -> None:
        self.sent: list[str] = []
        self.dropped: list[str] = []
        self.faults = EventFaults(
            FAULTS.validate_python(faults),
            self._send,
            lambda: self.dropped.append("channel"),
            lambda: self.dropped.append("peer"),
        )

    def _send(self, text: str) -> None:
        try:
            self.sent.append(json.loads(text)["type"])
        except ValueError:
            self.sent.append(text)

    def emit(self, *types: str) -> None:
        for type_ in types:
            self.faults.send({"type": type_, "event_id": f"event_{len(self.sent)}"})


async def test_delay_holds_the_event_and_those_behind_it() -> None:
    channel = Channel({"kind": "delay", "ms": 50, "events": ["response.created"]})
    channel.emit("session.created", "response.created", "response.done")
    assert channel.sent == ["session.created"]
    await asyncio.sleep(0.1)
    assert channel.sent == ["session.created", "response.created", "response.done"]


async def test_reorder_swaps_with_the_next_event_or_gives_up_waiting() -> None:
    channel = Channel({"kind": "reorder", "events": ["response.created"], "times": 2})
    channel.emit("response.created", "response.output_item.added")
    assert channel.sent == ["response.output_item.added", "response.created"]
    channel.emit("response.created")
    assert channel.sent[2:] == []
    await asyncio.sleep(REORDER_HOLD_S + 0.05)
    assert channel.sent[2:] == ["response.created"]
    channel.emit("response.created", "response.done")  # times: 2 used up
    assert channel.sent[3:] == ["response.created", "response.done"]


async def test_duplicates_withheld_and_injected_messages_count_their_times() -> None:
    channel = Channel(
        {"kind": "duplicate", "events": ["response.done"], "times": 1},
        {"kind": "no_response_done", "times": 1},
        {"kind": "malformed_event", "after": "response.created"},
        {"kind": "unknown_event", "after": "response.created", "times": 2, "type": "x.new"},
    )
    channel.emit("response.created", "response.done", "response.created", "response.done", "response.done")
    assert channel.sent == [
        "response.created",
        MALFORMED,
        "x.new",
        "response.created",  # the first response.done was withheld
        "x.new",
        "response.done",
        "response.done",  # duplicated once
        "response.done",
    ]


async def test_a_drop_after_an_event_lets_it_out_then_sends_nothing_more(
    wait_until: Callable[..., Awaitable[None]],
) -> None:
    channel = Channel({"kind": "drop_data_channel", "after": "response.created"})
    channel.emit("session.created", "response.created", "response.done")
    assert channel.sent == ["session.created", "response.created"]
    await wait_until(lambda: channel.dropped, timeout=5, what="the drop")
    assert channel.dropped == ["channel"]


async def test_a_drop_after_ms_counts_from_the_channel_opening_and_close_cancels_it(
    wait_until: Callable[..., Awaitable[None]],
) -> None:
    channel = Channel({"kind": "drop_peer", "after": 30})
    closed = Channel({"kind": "drop_peer", "after": 30})
    channel.faults.channel_opened()
    closed.faults.channel_opened()
    closed.faults.close()
    # the open channel's drop comes (both timers in turn: the 30 ms, then the grace) and by then the
    # closed one's, armed at the same instant, would have come too
    await wait_until(lambda: channel.dropped, timeout=5, what="the drop")
    assert channel.dropped == ["peer"]
    await asyncio.sleep(0.05)
    assert closed.dropped == []
