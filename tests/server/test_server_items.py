"""Conversation items, response.create options, the API's errors, idle timeout: one call each.

Text output and scripted replies keep these fast; the audio ones clear their playback at once.
"""

from __future__ import annotations

import json
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

from harness.server import StandInServer

if TYPE_CHECKING:
    from tests.support.raw_peer import RawPeer
    from tests.support.standin import Connect

pytestmark = pytest.mark.asyncio(loop_scope="module")
MANUAL: dict[str, Any] = {"input": {"turn_detection": None}}


async def expect_error(
    peer: RawPeer, event: dict[str, Any] | str, code: str, param: str | None = None
) -> dict[str, Any]:
    start = len(peer.events)
    peer.channel.send(event if isinstance(event, str) else json.dumps(event))
    _, error_event = await peer.expect("error", after=start)
    error = dict(error_event["error"])
    assert error["code"] == code and error["type"] == "invalid_request_error", error
    assert set(error) == {"type", "code", "message", "param", "event_id"}
    if param is not None:
        assert error["param"] == param, error
    if isinstance(event, dict):
        assert error["event_id"] == event.get("event_id"), error
    return error


async def finished(peer: RawPeer, mark: int, **response: Any) -> dict[str, Any]:
    """Create a response after index ``mark``; returns its response.done (audio cleared at once)."""
    response_id = await peer.create_response(**response)
    _, done = await peer.expect("response.done", after=mark)
    assert done["response"]["id"] == response_id
    if "audio" in done["response"]["output_modalities"]:
        peer.send({"type": "output_audio_buffer.clear"})
        await peer.expect("output_audio_buffer.cleared", after=mark, response_id=response_id)
    return dict(done["response"])


async def test_item_create_insert_retrieve_delete(
    ahead_server: StandInServer, connected: Connect, conformance: ModuleType
) -> None:
    async with connected(ahead_server) as peer:
        await peer.configure(audio=MANUAL)
        first = await peer.type_message("first")
        last = await peer.type_message("last")
        mark = len(peer.events)
        peer.send(
            {
                "type": "conversation.item.create",
                "previous_item_id": first,
                "item": {
                    "id": "item_middle",
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": "middle"}],
                },
            }
        )
        _, added = await peer.expect("conversation.item.added", after=mark)
        assert added["item"]["id"] == "item_middle" and added["previous_item_id"] == first
        peer.send(
            {
                "type": "conversation.item.create",
                "previous_item_id": "root",
                "item": {
                    "type": "message",
                    "role": "system",
                    "content": [{"type": "input_text", "text": "Be terse."}],
                },
            }
        )
        _, root = await peer.expect("conversation.item.added", after=mark + 2)
        assert root["previous_item_id"] is None and root["item"]["role"] == "system"
        await expect_error(
            peer,
            {
                "type": "conversation.item.create",
                "event_id": "evt_dup",
                "item": {**added["item"], "status": None},
            },
            "invalid_value",
            "item.id",
        )
        await expect_error(
            peer,
            {
                "type": "conversation.item.create",
                "event_id": "evt_prev",
                "previous_item_id": "item_nowhere",
                "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "x"}]},
            },
            "invalid_value",
            "previous_item_id",
        )
        await expect_error(
            peer,
            {"type": "conversation.item.create", "event_id": "evt_bad", "item": {"type": "message"}},
            "invalid_value",
        )

        mark = len(peer.events)
        peer.send({"type": "conversation.item.retrieve", "item_id": "item_middle"})
        _, retrieved = await peer.expect("conversation.item.retrieved", after=mark)
        assert retrieved["item"]["content"] == [{"type": "input_text", "text": "middle"}]
        peer.send({"type": "conversation.item.delete", "item_id": last, "event_id": "evt_del"})
        _, deleted = await peer.expect("conversation.item.deleted", after=mark)
        assert deleted["item_id"] == last
        await expect_error(
            peer,
            {"type": "conversation.item.retrieve", "event_id": "evt_gone", "item_id": last},
            "invalid_value",
            "item_id",
        )
        await expect_error(
            peer,
            {"type": "conversation.item.delete", "event_id": "evt_gone2", "item_id": last},
            "invalid_value",
            "item_id",
        )

        # The reply answers the last user message still in the conversation.
        done = await finished(peer, len(peer.events), output_modalities=["text"])
        assert done["output"][0]["content"][0]["text"] == "You said: middle."
        conformance.assert_links(peer)


async def test_truncate_rules(
    ahead_server: StandInServer, connected: Connect, conformance: ModuleType
) -> None:
    async with connected(ahead_server) as peer:
        await peer.configure(audio=MANUAL)
        user = await peer.type_message("hello")
        done = await finished(peer, len(peer.events), instructions='Say "One two three four five six seven."')
        item_id = done["output"][0]["id"]
        await expect_error(
            peer,
            {
                "type": "conversation.item.truncate",
                "event_id": "evt_t1",
                "item_id": user,
                "content_index": 0,
                "audio_end_ms": 10,
            },
            "invalid_value",
            "item_id",
        )
        mark = len(peer.events)
        too_far = {
            "type": "conversation.item.truncate",
            "event_id": "evt_t2",
            "item_id": item_id,
            "content_index": 0,
            "audio_end_ms": 600_000,
        }
        error = await expect_error(peer, too_far, "invalid_value", "audio_end_ms")
        assert "is already shorter than 600000ms" in str(error["message"])
        _, clamped = await peer.expect("conversation.item.truncated", after=mark)
        assert 0 < clamped["audio_end_ms"] < 600_000, "the API truncates at the real end after refusing"
        mark = len(peer.events)
        peer.send(
            {
                "type": "conversation.item.truncate",
                "item_id": item_id,
                "content_index": 0,
                "audio_end_ms": 100,
            }
        )
        _, truncated = await peer.expect("conversation.item.truncated", after=mark)
        assert truncated == {**truncated, "item_id": item_id, "content_index": 0, "audio_end_ms": 100}
        await expect_error(
            peer,
            {
                "type": "conversation.item.truncate",
                "event_id": "evt_t3",
                "item_id": item_id,
                "content_index": 0,
                "audio_end_ms": -1,
            },
            "invalid_value",
            "audio_end_ms",
        )
        conformance.assert_links(peer)


async def test_response_options(
    ahead_server: StandInServer, connected: Connect, conformance: ModuleType
) -> None:
    async with connected(ahead_server) as peer:
        await peer.configure(audio=MANUAL)
        await peer.type_message("hello there")
        mark = len(peer.events)
        done = await finished(
            peer,
            mark,
            instructions='Say "Welcome to the stand-in."',
            metadata={"topic": "greeting"},
            audio={"output": {"voice": "ash"}},
        )
        assert done["output"][0]["content"][0]["transcript"] == "Welcome to the stand-in."
        assert done["metadata"] == {"topic": "greeting"} and done["audio"]["output"]["voice"] == "ash"
        _, created = await peer.expect("response.created", after=mark)
        assert created["response"]["metadata"] == {"topic": "greeting"}

        # Out of band: not added to the conversation, its context given inline.
        mark = len(peer.events)
        inline = {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "summarise this"}],
        }
        done = await finished(peer, mark, conversation="none", input=[inline], output_modalities=["text"])
        assert done["conversation_id"] is None
        assert done["output"][0]["content"][0]["text"] == "You said: summarise this."
        chain = conformance.expected_chain(audio=False, in_conversation=False)
        trace = await conformance.assert_response_order(peer, done["id"], pacing="ahead", chain=chain)
        assert "conversation.item.added" not in trace.types

        # speed is honoured: the same words at 1.5x take about 2/3 of the audio (billed tokens).
        says = 'Say "The quick brown fox jumps over the lazy dog, twice, slowly."'
        normal = await finished(peer, len(peer.events), instructions=says)
        await peer.configure(audio={"output": {"speed": 1.5}})
        fast = await finished(peer, len(peer.events), instructions=says)
        ratio = (
            fast["usage"]["output_token_details"]["audio_tokens"]
            / normal["usage"]["output_token_details"]["audio_tokens"]
        )
        assert 0.5 < ratio < 0.8, ratio
        conformance.assert_links(peer)


async def test_api_errors(ahead_server: StandInServer, connected: Connect, conformance: ModuleType) -> None:
    async with connected(ahead_server) as peer:
        await peer.configure(audio=MANUAL)
        cases: list[tuple[dict[str, Any], str, str | None]] = [
            (
                {
                    "type": "session.update",
                    "session": {"type": "realtime", "output_modalities": ["audio", "text"]},
                },
                "invalid_value",
                "session.output_modalities",
            ),
            (
                {
                    "type": "session.update",
                    "session": {"type": "realtime", "audio": {"output": {"speed": 2.0}}},
                },
                "invalid_value",
                "session.audio.output.speed",
            ),
            (
                {
                    "type": "session.update",
                    "session": {"type": "realtime", "audio": {"output": {"voice": "nobody"}}},
                },
                "invalid_value",
                "session.audio.output.voice",
            ),
            (
                {"type": "session.update", "session": {"type": "realtime", "colour": "blue"}},
                "unknown_parameter",
                "session.colour",
            ),
            (
                {"type": "session.update", "session": {"model": "gpt-realtime"}},
                "missing_required_parameter",
                "session.type",
            ),
            (
                {"type": "response.create", "response": {"output_modalities": ["audio", "text"]}},
                "invalid_value",
                "response.output_modalities",
            ),
            (
                {"type": "response.create", "response": {"audio": {"output": {"voice": "nobody"}}}},
                "invalid_value",
                "response.audio.output.voice",
            ),
            (
                {"type": "response.create", "response": {"conversation": "conv_other"}},
                "invalid_value",
                "response.conversation",
            ),
            ({"type": "response.create", "response": {"metadata": {"n": 1}}}, "invalid_value", None),
            (
                {"type": "response.create", "response": {"shape": "round"}},
                "unknown_parameter",
                "response.shape",
            ),
            ({"type": "input_audio_buffer.append", "audio": ""}, "invalid_value", "type"),
            ({"type": "no.such.event"}, "invalid_value", "type"),
            ({"event_id": "evt_no_type"}, "missing_required_parameter", "type"),
        ]
        for index, (event, code, param) in enumerate(cases):
            await expect_error(peer, {**event, "event_id": f"evt_{index}"}, code, param)
        error = await expect_error(peer, "{not json", "invalid_json")
        assert error["event_id"] is None
        mark = len(peer.events)
        peer.send({"type": "response.create", "response": {"instructions": 'Say "A longer sentence."'}})
        _, created = await peer.expect("response.created", after=mark)
        error = await expect_error(
            peer,
            {"type": "response.create", "event_id": "evt_busy"},
            "conversation_already_has_active_response",
        )
        assert created["response"]["id"] in str(error["message"])
        peer.send({"type": "response.cancel", "response_id": created["response"]["id"]})
        peer.send({"type": "output_audio_buffer.clear"})
        _, done = await peer.expect("response.done", after=mark)
        assert done["response"]["status"] == "cancelled"
        error = await expect_error(
            peer, {"type": "response.cancel", "event_id": "evt_idle"}, "response_cancel_not_active"
        )
        assert error["message"] == "Cancellation failed: no active response found"
        mark = len(peer.events)
        peer.send({"type": "session.update", "session": {"type": "realtime", "instructions": "still here"}})
        _, updated = await peer.expect("session.updated", after=mark)
        assert updated["session"]["instructions"] == "still here"
        conformance.assert_links(peer)


async def test_idle_timeout_prompts_a_response(
    ahead_server: StandInServer, connected: Connect, conformance: ModuleType
) -> None:
    async with connected(ahead_server) as peer:
        detection = {"type": "server_vad", "idle_timeout_ms": 400}
        await peer.configure(audio={"input": {"turn_detection": detection}})
        mark = len(peer.events)
        peer.send({"type": "response.create", "response": {"instructions": 'Say "Hi."'}})
        _, first = await peer.expect("response.created", after=mark)
        await peer.expect("output_audio_buffer.stopped", after=mark, response_id=first["response"]["id"])
        _, timeout = await peer.expect("input_audio_buffer.timeout_triggered", after=mark)
        assert 350 <= timeout["audio_end_ms"] - timeout["audio_start_ms"] <= 500, timeout
        _, committed = await peer.expect("input_audio_buffer.committed", after=mark)
        assert committed["item_id"] == timeout["item_id"]
        _, second = await peer.expect("response.created", after=mark + 1)
        assert second["response"]["id"] != first["response"]["id"]
        await peer.expect("response.done", after=mark + 1, timeout=20)
        conformance.assert_links(peer)
