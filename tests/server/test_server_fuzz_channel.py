"""Bad data-channel messages, as a class: each gets exactly one ``error`` event of the API's shape
(naming the client's ``event_id`` when it had a readable one) and the session goes on.

One real WebRTC call (raw aiortc peer, 127.0.0.1) takes every message hypothesis draws
(tests/support/fuzz_events.py); after each, the same call must still answer a
``conversation.item.retrieve``, and at the end a spoken response.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio
from aiortc.rtcsctptransport import WEBRTC_STRING
from hypothesis import given, settings

from harness.server import StandInServer
from tests.support import fuzz, fuzz_events
from tests.support.raw_peer import RawPeer
from tests.support.standin import connected

pytestmark = pytest.mark.asyncio(loop_scope="module")
ERROR_FIELDS = {"type", "code", "message", "param", "event_id"}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def peer(ahead_server: StandInServer) -> AsyncIterator[RawPeer]:
    """The one call every bad message goes to (manual turns: nothing but the fuzz drives it)."""
    async with connected(ahead_server) as raw:
        await raw.configure(audio={"input": {"turn_detection": None}})
        yield raw


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def kept_item(peer: RawPeer) -> str:
    """A conversation item the liveness check retrieves after every bad message."""
    return await peer.type_message("keep this")


async def refused_then_alive(
    peer: RawPeer, kept_item: str, send: Any, event_id: str | None
) -> dict[str, Any]:
    """``send()`` one bad message: one error of the API's shape, then the call still answers."""
    mark = len(peer.events)
    send()
    _, error_event = await peer.expect("error", after=mark)
    error = error_event["error"]
    assert set(error) == ERROR_FIELDS, error
    assert error["type"] == "invalid_request_error", error  # a server_error would be a stand-in bug
    assert (
        isinstance(error["message"], str) and "\n" not in error["message"] and len(error["message"]) <= 1024
    )
    assert error["event_id"] == event_id, (error, event_id)
    peer.send({"type": "conversation.item.retrieve", "item_id": kept_item, "event_id": "evt_alive"})
    retrieved_at, retrieved = await peer.expect("conversation.item.retrieved", after=mark)
    assert retrieved["item"]["id"] == kept_item
    assert peer.types(mark, retrieved_at).count("error") == 1, peer.types(mark, retrieved_at + 1)
    assert not peer.invalid, peer.invalid[:1]
    return dict(error)


@settings(fuzz.FUZZ, max_examples=60)
@given(bad=fuzz_events.bad_messages())
async def test_any_bad_message_is_one_error_event_and_the_call_goes_on(
    peer: RawPeer, kept_item: str, bad: fuzz_events.Bad
) -> None:
    await refused_then_alive(peer, kept_item, lambda: peer.channel.send(bad.message), bad.event_id)


async def test_text_messages_that_are_not_utf8_are_refused_not_fatal(peer: RawPeer, kept_item: str) -> None:
    """Browsers cannot send them; any SCTP stack can (here: aiortc's private send queue)."""
    transport = peer.channel.transport
    flushes: list[asyncio.Task[None]] = []

    def send_raw(data: bytes) -> None:
        transport._data_channel_queue.append((peer.channel, WEBRTC_STRING, data))
        flushes.append(asyncio.ensure_future(transport._data_channel_flush()))

    for data in (b"\xff", b'{"type": "input_audio_buffer.clear", "x": "\xc3"}', b"\xed\xa0\x80"):
        error = await refused_then_alive(peer, kept_item, lambda data=data: send_raw(data), None)
        assert "text message" in error["message"], error


async def test_the_call_still_speaks_after_the_fuzz(
    peer: RawPeer, wait_until: Callable[..., Awaitable[None]]
) -> None:
    """Runs after the fuzz above (module order): a spoken response on the same call."""
    mark, since = len(peer.events), time.monotonic()
    await peer.type_message("say something")
    response_id = await peer.create_response()
    _, done = await peer.expect("response.done", after=mark)
    assert done["response"]["id"] == response_id and done["response"]["status"] == "completed"
    await wait_until(lambda: peer.first_sound_after(since) is not None, what="the reply's audio")


async def test_a_server_event_too_large_for_the_peer_becomes_an_error(ahead_server: StandInServer) -> None:
    """Three accepted updates of ~100 KB each make a session.updated over the peer's 256 KiB
    a=max-message-size: the peer gets an error saying so instead, and the call goes on."""
    big = "x" * 100_000
    updates: list[dict[str, Any]] = [
        {"instructions": big},
        {"tools": [{"type": "function", "name": "big", "description": big}]},
        {"prompt": {"id": "pmpt_big", "variables": {"text": big}}},
    ]
    async with connected(ahead_server) as raw:
        for update in updates[:2]:
            await raw.configure(**update)
        mark = len(raw.events)
        raw.send({"type": "session.update", "session": {"type": "realtime", **updates[2]}})
        _, error = await raw.expect("error", after=mark)
        assert (
            "session.updated" in error["error"]["message"] and "max-message-size" in error["error"]["message"]
        )
        await raw.type_message("still here")
