"""Protocol conformance: full conversations over real loopback WebRTC, event order per response,
ids that link up, every event valid for the openai package's server-event union.

Covers manual turns under generate-ahead pacing (the documented order under ``realtime`` pacing
is checked in test_server_conversation, with what the client hears), server_vad and
semantic_vad turns, barge-in while generating and after generation, cancel during generation
and during playback, text output and typed user items. Every test runs against the normal
stand-in and the load-mode one (``--load``: packets instead of frames, same events and timing);
the module's tests share one server of each.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import pytest_asyncio

from harness.protocol import SAMPLE_RATE
from harness.server import ResponsePacing, StandInServer

if TYPE_CHECKING:
    from tests.support.raw_peer import RawPeer
    from tests.support.standin import Connect, StandIn

pytestmark = pytest.mark.asyncio(loop_scope="module")

SILENCE = np.zeros(SAMPLE_RATE, dtype=np.int16)
MANUAL: dict[str, Any] = {"turn_detection": None, "transcription": {"model": "gpt-4o-mini-transcribe"}}


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["normal", "load"])
async def ahead_server(request: pytest.FixtureRequest, standin: StandIn) -> AsyncIterator[StandInServer]:
    """The default stand-in (generate-ahead pacing, test persona), in normal and in load mode."""
    async with standin(ResponsePacing.GENERATE_AHEAD, load=request.param == "load") as running:
        yield running


def voiced_span_ms(audio: np.ndarray) -> tuple[float, float]:
    """Where the speech in a clip starts and ends (ms from the clip's start)."""
    voiced = np.flatnonzero(np.abs(audio.astype(np.int32)) > 300)
    return voiced[0] * 1000 / SAMPLE_RATE, voiced[-1] * 1000 / SAMPLE_RATE


async def test_manual_turn_generates_ahead_of_playback(
    ahead_server: StandInServer, connected: Connect, silent_peak: int, conformance: ModuleType
) -> None:
    async with connected(ahead_server) as peer:
        await peer.configure(audio={"input": MANUAL})
        await peer.type_message("what is the weather like in paris today")
        response_id = await peer.create_response()
        done_index, done = await peer.expect("response.done")
        stopped_index, _ = await peer.expect("output_audio_buffer.stopped", response_id=response_id)
        trace = await conformance.assert_response_order(peer, response_id, pacing="ahead")
        assert done["response"]["status"] == "completed"
        reply = "You said: what is the weather like in paris today."
        assert done["response"]["output"][0]["content"][0]["transcript"] == reply
        # The live API's signature: the reply is fully generated while its audio still plays.
        done_at = peer.events[done_index].at
        assert any(f.at > done_at + 0.5 and f.peak > silent_peak for f in peer.audio), "no audio after done"
        assert stopped_index > done_index and trace.types.index("output_audio_buffer.started") > 4
        usage = done["response"]["usage"]
        assert (
            usage["output_token_details"]["audio_tokens"] > 0
            and usage["input_token_details"]["text_tokens"] > 0
        )
        conformance.assert_links(peer)


async def test_server_vad_turn(
    ahead_server: StandInServer, hello_audio: np.ndarray, connected: Connect, conformance: ModuleType
) -> None:
    async with connected(ahead_server) as peer:
        session = await peer.configure()  # the default session: server_vad, as the live API
        detection = session["audio"]["input"]["turn_detection"]
        assert detection["type"] == "server_vad" and detection["silence_duration_ms"] == 500
        await peer.player.play(np.concatenate([hello_audio, SILENCE]))
        clip = peer.player.clip_start_ms
        _, started = await peer.expect("input_audio_buffer.speech_started")
        _, stopped = await peer.expect("input_audio_buffer.speech_stopped")
        committed_index, committed = await peer.expect("input_audio_buffer.committed")
        _, created = await peer.expect("response.created", after=committed_index)
        response_id = created["response"]["id"]
        await peer.expect("output_audio_buffer.stopped", response_id=response_id, timeout=20)
        onset, offset = voiced_span_ms(hello_audio)
        # On the audio clock: the onset less prefix_padding_ms, the offset plus silence_duration_ms.
        assert abs(started["audio_start_ms"] - (clip + onset - 300)) <= 150, (started, clip + onset)
        assert abs(stopped["audio_end_ms"] - (clip + offset + 500)) <= 150, (stopped, clip + offset)
        assert started["item_id"] == stopped["item_id"] == committed["item_id"]
        _, completed = await peer.expect(
            "conversation.item.input_audio_transcription.completed", item_id=committed["item_id"]
        )
        assert "hello" in completed["transcript"]
        assert peer.types(committed_index, committed_index + 3) == [
            "input_audio_buffer.committed",
            "conversation.item.added",
            "conversation.item.done",
        ]
        await conformance.assert_response_order(peer, response_id, pacing="ahead")
        conformance.assert_links(peer)


async def test_semantic_vad_turn(
    ahead_server: StandInServer, hello_audio: np.ndarray, connected: Connect, conformance: ModuleType
) -> None:
    async with connected(ahead_server) as peer:
        session = await peer.configure(
            audio={"input": {"turn_detection": {"type": "semantic_vad", "eagerness": "high"}}}
        )
        assert session["audio"]["input"]["turn_detection"]["type"] == "semantic_vad"
        await peer.player.play(np.concatenate([hello_audio, SILENCE]))
        clip = peer.player.clip_start_ms
        _, stopped = await peer.expect("input_audio_buffer.speech_stopped")
        _, created = await peer.expect("response.created")
        await peer.expect("response.done")
        _, offset = voiced_span_ms(hello_audio)
        assert 0 < stopped["audio_end_ms"] - (clip + offset) < 900, "eagerness high waits ~400 ms"
        await conformance.assert_response_order(peer, created["response"]["id"], pacing="ahead")
        conformance.assert_links(peer)


async def test_barge_in_while_generating_then_after_done(
    ahead_server: StandInServer,
    story_audio: np.ndarray,
    sentence_audio: np.ndarray,
    hello_audio: np.ndarray,
    connected: Connect,
    silent_peak: int,
    conformance: ModuleType,
) -> None:
    async with connected(ahead_server) as peer:
        await peer.configure(audio={"input": {"turn_detection": {"type": "server_vad"}}})
        await peer.player.play(np.concatenate([story_audio, SILENCE]))
        _, created = await peer.expect("response.created", timeout=20)
        story_id = created["response"]["id"]
        await peer.expect("output_audio_buffer.started", response_id=story_id)

        # 1. The user talks while the story is still being generated.
        mark = len(peer.events)
        await peer.player.play(np.concatenate([sentence_audio, SILENCE]))
        speech_index, _ = await peer.expect("input_audio_buffer.speech_started", after=mark)
        cleared_index, _ = await peer.expect("output_audio_buffer.cleared", after=mark, response_id=story_id)
        done_index, done = await peer.expect("response.done", after=mark)
        truncated_index, truncated = await peer.expect("conversation.item.truncated", after=mark)
        assert speech_index < cleared_index < done_index < truncated_index, "observed barge-in order"
        assert done["response"]["status"] == "cancelled"
        assert done["response"]["status_details"] == {"type": "cancelled", "reason": "turn_detected"}
        assert done["response"]["output"][0]["status"] == "incomplete"
        assert truncated["item_id"] == done["response"]["output"][0]["id"] and truncated["audio_end_ms"] > 0
        trace = await conformance.assert_response_order(peer, story_id, pacing="ahead")
        assert "output_audio_buffer.stopped" not in trace.types
        cleared_at = peer.events[cleared_index].at

        # The interruption becomes the next turn, answered in full.
        _, created = await peer.expect("response.created", after=truncated_index, timeout=20)
        echo_id = created["response"]["id"]
        started_index, _ = await peer.expect(
            "output_audio_buffer.started", after=truncated_index, response_id=echo_id
        )
        next_started = peer.events[started_index].at
        quiet = [f.peak for f in peer.audio if cleared_at + 0.3 < f.at < next_started]
        assert quiet and max(quiet) <= silent_peak, "the story kept sounding after the barge-in"

        # 2. The user talks after response.done, while the reply still plays: cleared, truncated only.
        await peer.expect("response.done", after=truncated_index)
        mark = len(peer.events)
        await peer.player.play(np.concatenate([hello_audio, SILENCE]))
        await peer.expect("input_audio_buffer.speech_started", after=mark)
        cleared_index, _ = await peer.expect("output_audio_buffer.cleared", after=mark, response_id=echo_id)
        _, truncated = await peer.expect("conversation.item.truncated", after=mark)
        echo = await conformance.assert_response_order(peer, echo_id, pacing="ahead")
        assert echo.done["response"]["status"] == "completed"
        assert truncated["item_id"] == echo.item_id
        await peer.expect("response.done", after=cleared_index, timeout=20)  # the third turn's reply
        conformance.assert_links(peer)


async def test_cancel_during_generation_and_during_playback(
    ahead_server: StandInServer,
    connected: Connect,
    story: str,
    silent_peak: int,
    wait_until: Callable[...,  Awaitable[None]],
    conformance: ModuleType,
) -> None:
    async with connected(ahead_server) as peer:
        await peer.configure(audio={"input": MANUAL})
        await peer.type_message("tell me a story")

        # During generation: response.cancel works; what was generated plays out, then stopped.
        first_id = await peer.create_response()
        await peer.expect("response.output_audio_transcript.delta", response_id=first_id)
        peer.send({"type": "response.cancel", "event_id": "evt_cancel_1"})
        _, done = await peer.expect("response.done")
        assert done["response"]["id"] == first_id and done["response"]["status"] == "cancelled"
        assert done["response"]["status_details"]["reason"] == "client_cancelled"
        await peer.expect("output_audio_buffer.stopped", response_id=first_id)
        partial = done["response"]["output"][0]["content"][0]["transcript"]
        assert partial and story.startswith(partial) and partial != story
        await conformance.assert_response_order(peer, first_id, pacing="ahead")

        # During playback: the response is no longer active; only output_audio_buffer.clear stops it.
        mark = len(peer.events)
        second_id = await peer.create_response()
        _, done = await peer.expect("response.done", after=mark)
        assert done["response"]["id"] == second_id and done["response"]["status"] == "completed"
        mark = len(peer.events)
        peer.send({"type": "response.cancel", "event_id": "evt_cancel_2"})
        _, error = await peer.expect("error", after=mark)
        assert error["error"]["code"] == "response_cancel_not_active"
        assert error["error"]["event_id"] == "evt_cancel_2"
        peer.send({"type": "output_audio_buffer.clear", "event_id": "evt_clear"})
        cleared_index, _ = await peer.expect("output_audio_buffer.cleared", after=mark, response_id=second_id)
        _, truncated = await peer.expect("conversation.item.truncated", after=mark)
        full_ms = len(story.split()) * 200  # ~9 s of speech; far more than plays before the clear
        assert 0 < truncated["audio_end_ms"] < full_ms
        trace = await conformance.assert_response_order(peer, second_id, pacing="ahead")
        assert "output_audio_buffer.stopped" not in trace.types and trace.item_id == truncated["item_id"]
        cleared_at = peer.events[cleared_index].at
        await wait_until(lambda: any(f.at > cleared_at + 0.8 for f in peer.audio), what="audio after clear")
        late = [f.peak for f in peer.audio if f.at > cleared_at + 0.5]
        assert late and max(late) <= silent_peak, "audio kept playing after output_audio_buffer.clear"
        peer.send({"type": "conversation.item.retrieve", "item_id": truncated["item_id"]})
        _, retrieved = await peer.expect("conversation.item.retrieved", after=cleared_index)
        assert retrieved["item"]["content"][0]["transcript"] == "", "truncation drops the unheard transcript"
        conformance.assert_links(peer)


async def test_text_modality_and_typed_turns(
    ahead_server: StandInServer, connected: Connect, conformance: ModuleType
) -> None:
    async with connected(ahead_server) as peer:
        await peer.configure(output_modalities=["text"], audio={"input": MANUAL})
        first = await peer.type_message("hello there")
        mark = len(peer.events)
        response_id = await peer.create_response()
        await peer.expect("response.done", after=mark)
        trace = await conformance.assert_response_order(peer, response_id, pacing="ahead")
        assert trace.chain == conformance.expected_chain(audio=False)
        assert not any(t.startswith("output_audio_buffer.") for t in peer.types())
        assert trace.done["response"]["output"][0]["content"] == [
            {"type": "output_text", "text": "You said: hello there."}
        ]
        _, text_done = await peer.expect("response.output_text.done", response_id=response_id)
        assert text_done["text"] == "You said: hello there."
        mark = len(peer.events)
        second = await peer.type_message("and goodbye")
        _, added = await peer.expect("conversation.item.added", after=mark)
        assert added["previous_item_id"] == trace.item_id, "typed turn follows the assistant's reply"
        mark = len(peer.events)
        next_id = await peer.create_response(output_modalities=["text"])
        _, done = await peer.expect("response.done", after=mark)
        assert done["response"]["id"] == next_id
        assert done["response"]["output"][0]["content"][0]["text"] == "You said: and goodbye."
        assert second != first
        conformance.assert_links(peer)


async def test_the_raw_peer_fails_on_an_event_the_openai_types_reject(raw_peer: type[RawPeer]) -> None:
    peer = raw_peer()
    try:
        peer.channel.emit("message", '{"type": "response.done", "event_id": "event_1"}')  # no response
        with pytest.raises(AssertionError, match=r"invalid server event 'response\.done'"):
            await peer.expect("response.done", timeout=1)
    finally:
        await peer.close()
