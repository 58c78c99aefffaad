"""Checks of a recorded event stream against the protocol: order per response, and ids that link up.

The order of one response has two parts. The *generation chain* (everything but the playback
events) is fixed by the documentation; the *playback events* (output_audio_buffer.started /
stopped / cleared, conversation.item.truncated) hang on it by rules that depend on the pacing:
documented (``realtime``) puts started before the first transcript delta, the live API
(``ahead``) after the first deltas; stopped always comes after response.done and never after a
clear.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.support.raw_peer import RawPeer

TRANSCRIPTION = {
    "conversation.item.input_audio_transcription.delta",
    "conversation.item.input_audio_transcription.completed",
    "conversation.item.input_audio_transcription.failed",
}
PLAYBACK = {
    "output_audio_buffer.started",
    "output_audio_buffer.stopped",
    "output_audio_buffer.cleared",
    "conversation.item.truncated",
}


def collapse(types: list[str]) -> list[str]:
    """Drop input-transcription events (asynchronous by contract) and merge runs of deltas."""
    out: list[str] = []
    for type_ in types:
        if type_ in TRANSCRIPTION or (out and out[-1] == type_ and type_.endswith(".delta")):
            continue
        out.append(type_)
    return out


def expected_chain(
    *, audio: bool = True, in_conversation: bool = True, item: bool = True, deltas: bool = True
) -> list[str]:
    """The documented generation chain of one response."""
    if not item:
        return ["response.created", "response.done", "rate_limits.updated"]
    kind = "output_audio_transcript" if audio else "output_text"
    chain = ["response.created", "response.output_item.added"]
    chain += ["conversation.item.added"] if in_conversation else []
    chain += ["response.content_part.added"]
    chain += [f"response.{kind}.delta"] if deltas else []
    chain += ["response.output_audio.done"] if audio else []
    chain += [f"response.{kind}.done", "response.content_part.done", "response.output_item.done"]
    chain += ["conversation.item.done"] if in_conversation else []
    return [*chain, "response.done", "rate_limits.updated"]


@dataclass
class ResponseTrace:
    """One response's events (indices into ``peer.events``), as the client saw them."""

    response_id: str
    item_id: str | None
    indices: list[int]
    types: list[str]
    done: dict[str, Any]

    @property
    def chain(self) -> list[str]:
        return collapse([t for t in self.types if t not in PLAYBACK])

    def position(self, type_: str) -> int | None:
        return self.types.index(type_) if type_ in self.types else None

    def count(self, type_: str) -> int:
        return self.types.count(type_)


def response_trace(peer: RawPeer, response_id: str) -> ResponseTrace:
    """Every event of ``response_id``: by response_id, by its output item's id, and the
    rate_limits.updated right after its response.done."""
    item_id: str | None = None
    indices: list[int] = []
    done: dict[str, Any] = {}
    for index, received in enumerate(peer.events):
        event = received.event
        type_ = event["type"]
        if type_ == "response.output_item.added" and event["response_id"] == response_id:
            item_id = event["item"]["id"]
        mine = (
            event.get("response_id") == response_id or (event.get("response") or {}).get("id") == response_id
        )
        if item_id is not None and type_.startswith("conversation.item."):
            mine = mine or (event.get("item") or {}).get("id") == item_id or event.get("item_id") == item_id
        if type_ == "rate_limits.updated" and index > 0:
            before = peer.events[index - 1].event
            mine = mine or (before["type"] == "response.done" and before["response"]["id"] == response_id)
        if type_ == "conversation.item.retrieved":
            mine = False
        if mine:
            indices.append(index)
        if type_ == "response.done" and event["response"]["id"] == response_id:
            done = event
    types = [peer.events[i].event["type"] for i in indices]
    assert done, f"no response.done for {response_id}; saw {types}"
    return ResponseTrace(response_id, item_id, indices, types, done)


async def assert_response_order(
    peer: RawPeer,
    response_id: str,
    *,
    pacing: str,
    chain: list[str] | None = None,
) -> ResponseTrace:
    """The generation chain is the documented one; playback events sit where the pacing puts them.

    Waits first for the response's response.done and the rate_limits.updated after it: they are
    separate data-channel messages, so a caller that has just seen response.done may not have
    received the next one yet."""
    done_at, done = await peer.expect("response.done")
    while done["response"]["id"] != response_id:
        done_at, done = await peer.expect("response.done", after=done_at + 1)
    await peer.expect("rate_limits.updated", after=done_at)
    trace = response_trace(peer, response_id)
    status = trace.done["response"]["status"]
    if chain is None:
        audio = "audio" in trace.done["response"]["output_modalities"]
        chain = expected_chain(
            audio=audio, in_conversation=trace.done["response"]["conversation_id"] is not None
        )
    assert trace.chain == chain, f"{status} response {response_id}: {trace.chain}"
    started = trace.position("output_audio_buffer.started")
    stopped = trace.position("output_audio_buffer.stopped")
    cleared = trace.position("output_audio_buffer.cleared")
    for type_ in PLAYBACK:
        assert trace.count(type_) <= 1, f"{type_} twice: {trace.types}"
    first_delta = next((i for i, t in enumerate(trace.types) if t.endswith("transcript.delta")), None)
    if started is not None:
        assert started > trace.types.index("response.content_part.added"), trace.types
        if pacing == "realtime" and first_delta is not None:
            assert started < first_delta, f"documented order puts started first: {trace.types}"
        if pacing == "ahead":
            assert first_delta is not None and started > first_delta, (
                f"live order: deltas first: {trace.types}"
            )
    if stopped is not None:
        assert started is not None and stopped > trace.types.index("rate_limits.updated"), trace.types
        assert cleared is None, f"a cleared response has no stopped: {trace.types}"
    if cleared is not None:
        truncated = trace.position("conversation.item.truncated")
        if truncated is not None:
            assert truncated > cleared, trace.types
    return trace


def assert_links(peer: RawPeer) -> None:
    """Ids link up across the whole session: items in order, responses and their items, VAD turns."""
    order: list[str] = []
    event_ids: set[str] = set()
    responses: dict[str, str | None] = {}
    speech_items: dict[str, str] = {}
    committed_next: tuple[str, str | None] | None = None
    stopped_item: str | None = None
    for received in peer.events:
        event = received.event
        type_ = event["type"]
        assert event["event_id"] not in event_ids, f"event_id reused: {event['event_id']}"
        event_ids.add(event["event_id"])
        if type_ == "input_audio_buffer.committed":
            assert event["item_id"] not in order
            assert event["previous_item_id"] == (order[-1] if order else None), event
            if stopped_item is not None:
                assert event["item_id"] == stopped_item, "a VAD turn commits the item its speech events named"
                stopped_item = None
            committed_next = (event["item_id"], event["previous_item_id"])
        elif type_ == "conversation.item.added":
            item_id, previous = event["item"]["id"], event["previous_item_id"]
            if committed_next is not None:
                assert (item_id, previous) == committed_next, (event, committed_next)
                committed_next = None
            assert item_id not in order, f"{item_id} added twice"
            assert previous is None or previous in order, f"previous_item_id {previous} unknown"
            order.insert(order.index(previous) + 1 if previous is not None else 0, item_id)
        elif type_ in ("conversation.item.done", "conversation.item.retrieved"):
            assert event["item"]["id"] in order, f"{type_} for unknown item {event['item']['id']}"
        elif type_ == "conversation.item.deleted":
            order.remove(event["item_id"])
        elif type_ in TRANSCRIPTION or type_ == "conversation.item.truncated":
            assert event["item_id"] in order or event["item_id"] in speech_items.values(), event
        elif type_ == "response.created":
            responses[event["response"]["id"]] = None
        elif type_ == "response.output_item.added":
            assert event["response_id"] in responses
            responses[event["response_id"]] = event["item"]["id"]
        elif type_ == "response.done":
            response = event["response"]
            assert response["id"] in responses
            assert [o["id"] for o in response["output"]] == [i for i in [responses[response["id"]]] if i]
        elif type_ == "input_audio_buffer.speech_started":
            speech_items[event["item_id"]] = event["item_id"]
        elif type_ == "input_audio_buffer.speech_stopped":
            assert event["item_id"] in speech_items, f"speech_stopped without speech_started: {event}"
            stopped_item = event["item_id"]
        elif type_ == "output_audio_buffer.cleared":
            assert event["response_id"] in responses or event["response_id"] == "", event
        if "response_id" in event and type_.startswith("response."):
            assert event["response_id"] in responses, event
            if "item_id" in event:
                assert event["item_id"] == responses[event["response_id"]], event
    peer.assert_valid()
