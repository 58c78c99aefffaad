"""Data-channel event I/O without a network: logging, invalid messages, sending, waiting."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from harness.client.events import INVALID_MESSAGE, EventChannel
from harness.errors import ConnectError, ProtocolError, ServerEventTimeout
from harness.timeline import EntryKind, Timeline


class FakeChannel:
    """Stands in for an aiortc RTCDataChannel (listeners + send)."""

    label = "oai-events"

    def __init__(self) -> None:
        self.readyState = "open"
        self.sent: list[str] = []
        self.listeners: dict[str, Any] = {}

    def on(self, name: str, handler: Any) -> None:
        self.listeners[name] = handler

    def send(self, data: str) -> None:
        self.sent.append(data)


def make() -> tuple[EventChannel, FakeChannel, Timeline]:
    timeline = Timeline("events")
    events = EventChannel(timeline)
    channel = FakeChannel()
    events.attach(channel)
    return events, channel, timeline


def deliver(channel: FakeChannel, event: dict[str, Any] | str | bytes) -> None:
    channel.listeners["message"](event if isinstance(event, str | bytes) else json.dumps(event))


async def test_received_events_are_logged_on_arrival_and_never_dropped() -> None:
    events, channel, timeline = make()
    deliver(channel, {"type": "session.created", "event_id": "e1", "session": {}})
    deliver(channel, {"type": "rate_limits.updated", "event_id": "e2", "rate_limits": []})
    assert [e["type"] for e in events.received] == ["session.created", "rate_limits.updated"]
    entries = [e for e in timeline if e.kind == EntryKind.RECEIVED]
    assert [e.type for e in entries] == ["session.created", "rate_limits.updated"]
    assert entries[0].data == events.received[0] and entries[0].t <= entries[1].t
    # Arrived before anyone waited: still returned.
    got = await events.wait_for("session.created", timeout=0.1)
    assert got["event_id"] == "e1" and events.time_of(got) == entries[0].t


async def test_invalid_messages_are_recorded_not_raised() -> None:
    events, channel, timeline = make()
    deliver(channel, "{not json")
    deliver(channel, "[1, 2]")
    deliver(channel, b"\x00\x01")
    deliver(channel, {"type": "session.created"})
    assert len(events.protocol_errors) == 3
    assert all(isinstance(e, ProtocolError) for e in events.protocol_errors)
    invalid = [e for e in timeline if e.type == INVALID_MESSAGE]
    assert len(invalid) == 3 and invalid[0].data["raw"] == "{not json"
    assert [e["type"] for e in events.received] == ["session.created"]


async def test_wait_for_without_after_hands_each_event_out_once() -> None:
    events, channel, _ = make()
    for rid in ("r1", "r2", "r3"):
        deliver(channel, {"type": "response.done", "response": {"id": rid}})
    assert (await events.wait_for("response.done", timeout=0.1))["response"]["id"] == "r1"
    assert (await events.wait_for("response.done", timeout=0.1))["response"]["id"] == "r2"
    got = await events.wait_for("response.done", timeout=0.1, match=lambda e: e["response"]["id"] == "r3")
    assert got["response"]["id"] == "r3"
    with pytest.raises(ServerEventTimeout, match=r"'response\.done'.*0\.05 s"):
        await events.wait_for("response.done", timeout=0.05)


async def test_wait_for_with_after_is_a_stateless_window() -> None:
    events, channel, timeline = make()
    deliver(channel, {"type": "response.done", "response": {"id": "r1"}})
    await asyncio.sleep(0.002)
    t_mid = timeline.now()
    deliver(channel, {"type": "response.done", "response": {"id": "r2"}})
    # Same answer twice: after= does not consume (a WaitFor action, then a playout wait).
    assert (await events.wait_for("response.done", timeout=0.1, after=t_mid))["response"]["id"] == "r2"
    assert (await events.wait_for("response.done", timeout=0.1, after=t_mid))["response"]["id"] == "r2"
    assert (await events.wait_for("response.done", timeout=0.1, after=0.0))["response"]["id"] == "r1"
    # ... but what it returned is skipped by later plain waits.
    with pytest.raises(ServerEventTimeout):
        await events.wait_for("response.done", timeout=0.02)
    with pytest.raises(ServerEventTimeout):
        await events.wait_for("response.done", timeout=0.02, after=timeline.now() + 1)
    deliver(channel, {"type": "response.done", "response": {"id": "r3"}})
    assert (await events.wait_for("response.done", timeout=0.1))["response"]["id"] == "r3"


async def test_wait_for_wakes_on_later_arrival_and_any_of_several_types() -> None:
    events, channel, _ = make()
    waiter = asyncio.ensure_future(events.wait_for_any(("session.updated", "error"), timeout=1.0))
    await asyncio.sleep(0.01)
    assert not waiter.done()
    deliver(channel, {"type": "rate_limits.updated"})
    await asyncio.sleep(0.01)
    assert not waiter.done()
    deliver(channel, {"type": "error", "error": {"code": "x"}})
    assert (await waiter)["type"] == "error"


async def test_a_waiter_cancelled_as_an_event_arrives_is_cancelled() -> None:
    """Python 3.11's asyncio.wait_for returns the inner result when the cancel lands in the step
    the inner wait finished, losing the cancellation: the waiter would then wait on (a cancelled
    `rth load` turn loop ran forever)."""
    events, channel, _ = make()
    waiter = asyncio.ensure_future(events.wait_for("never", timeout=2.0))
    await asyncio.sleep(0.01)
    deliver(channel, {"type": "other"})  # wakes the waiter...
    waiter.cancel()  # ...in the same loop step as the cancel
    done, _ = await asyncio.wait({waiter}, timeout=1.0)
    assert waiter in done and waiter.cancelled()


async def test_two_waiters_for_one_type_get_different_events() -> None:
    events, channel, _ = make()
    first = asyncio.ensure_future(events.wait_for("a", timeout=1.0))
    second = asyncio.ensure_future(events.wait_for("a", timeout=1.0))
    await asyncio.sleep(0)
    deliver(channel, {"type": "a", "n": 1})
    deliver(channel, {"type": "a", "n": 2})
    assert sorted([(await first)["n"], (await second)["n"]]) == [1, 2]


async def test_send_fills_event_id_and_records() -> None:
    events, channel, timeline = make()
    sent = await events.send({"type": "input_audio_buffer.commit"})
    assert sent["event_id"].startswith("evt_") and len(sent["event_id"]) == 24
    assert json.loads(channel.sent[0]) == sent
    kept = await events.send({"type": "response.create", "event_id": "mine"})
    assert kept["event_id"] == "mine"
    assert [(e.kind, e.type) for e in timeline] == [
        (EntryKind.SENT, "input_audio_buffer.commit"),
        (EntryKind.SENT, "response.create"),
    ]
    with pytest.raises(ValueError, match="type"):
        await events.send({"event_id": "no type"})


async def test_closed_channel_fails_sends_and_waiters_fast() -> None:
    events, channel, _ = make()
    waiter = asyncio.ensure_future(events.wait_for("response.done", timeout=5.0))
    await asyncio.sleep(0)
    channel.readyState = "closed"
    channel.listeners["close"]()
    with pytest.raises(ConnectError, match=r"closed while waiting for 'response\.done'"):
        await waiter
    with pytest.raises(ConnectError, match="cannot send"):
        await events.send({"type": "response.create"})


async def test_send_before_open_is_a_connect_error() -> None:
    events, channel, _ = make()
    channel.readyState = "connecting"
    with pytest.raises(ConnectError, match="connecting"):
        await events.send({"type": "response.create"})
