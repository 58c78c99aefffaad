"""One real WebRTC conversation against the stand-in, driven by a raw aiortc offerer.

Push-to-talk turns: speech is played on the audio track at real-time pace, committed, answered;
what the client hears is checked with an independent recogniser; every event received must
validate against the openai package's server-event union. The documented event order is checked
on the ``realtime`` pacing server (:mod:`test_server_conformance` covers the live order).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from fractions import Fraction
from types import ModuleType
from typing import TYPE_CHECKING

import av
import numpy as np
import pytest
from pocketsphinx import Decoder

from harness.protocol import SAMPLE_RATE
from harness.server import StandInServer

if TYPE_CHECKING:
    from tests.support.raw_peer import RawPeer
    from tests.support.standin import Connect

pytestmark = pytest.mark.asyncio(loop_scope="module")
MANUAL = {"type": "realtime", "audio": {"input": {"turn_detection": None}}}

TRAILING_SILENCE = np.zeros(SAMPLE_RATE * 3 // 10, dtype=np.int16)  # flushes the remote jitter buffer
TRANSCRIPTION_EVENTS = {
    "conversation.item.input_audio_transcription.delta",
    "conversation.item.input_audio_transcription.completed",
}
RESPONSE_ORDER = [
    "response.created",
    "response.output_item.added",
    "conversation.item.added",
    "response.content_part.added",
    "output_audio_buffer.started",
    "response.output_audio_transcript.delta",
    "response.output_audio.done",
    "response.output_audio_transcript.done",
    "response.content_part.done",
    "response.output_item.done",
    "conversation.item.done",
    "response.done",
    "rate_limits.updated",
    "output_audio_buffer.stopped",
]


def collapse(types: list[str]) -> list[str]:
    """Drop input-transcription events (asynchronous by contract) and merge runs of deltas."""
    out: list[str] = []
    for type_ in types:
        if type_ in TRANSCRIPTION_EVENTS or (out and out[-1] == type_ and type_.endswith(".delta")):
            continue
        out.append(type_)
    return out


def transcribe(mono_48k: np.ndarray) -> str:
    """What pocketsphinx hears in audio received by the client (independent of the server's ASR)."""
    frame = av.AudioFrame.from_ndarray(mono_48k.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = SAMPLE_RATE
    frame.pts = 0
    frame.time_base = Fraction(1, SAMPLE_RATE)
    resampler = av.AudioResampler(format="s16", layout="mono", rate=16000)
    pcm = b"".join(f.to_ndarray().tobytes() for f in [*resampler.resample(frame), *resampler.resample(None)])
    decoder = Decoder(samprate=16000, loglevel="FATAL")
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()
    return decoder.hyp().hypstr if decoder.hyp() is not None else ""


async def speak_and_commit(peer: RawPeer, audio: np.ndarray) -> tuple[int, str]:
    """Play ``audio`` then a little silence, commit; returns (index of committed, item id)."""
    await peer.player.play(audio)
    await peer.player.play(TRAILING_SILENCE)
    start = len(peer.events)
    peer.send({"type": "input_audio_buffer.commit", "event_id": "evt_commit"})
    index, committed = await peer.expect("input_audio_buffer.committed", after=start)
    return index, committed["item_id"]


async def test_push_to_talk_turn(
    realtime_server: StandInServer,
    sentence_audio: np.ndarray,
    connected: Connect,
    candidate_addresses: Callable[[str], set[str]],
    silent_peak: int,
    conformance: ModuleType,
) -> None:
    async with connected(realtime_server) as peer:
        assert candidate_addresses(peer.offer_sdp) == {"127.0.0.1"}
        assert candidate_addresses(peer.answer_sdp) == {"127.0.0.1"}
        await peer.expect("session.created")
        peer.send(
            {
                "type": "session.update",
                "event_id": "evt_session",
                "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}},
            }
        )
        _, updated = await peer.expect("session.updated")
        assert updated["session"]["audio"]["input"]["turn_detection"] is None
        assert updated["session"]["audio"]["output"]["voice"] == "cedar"

        committed_at, item_id = await speak_and_commit(peer, sentence_audio)
        assert collapse(peer.types(committed_at, committed_at + 3)) == [
            "input_audio_buffer.committed",
            "conversation.item.added",
            "conversation.item.done",
        ]
        _, added = await peer.expect("conversation.item.added", after=committed_at)
        assert added["item"]["role"] == "user" and added["item"]["content"] == [
            {"type": "input_audio", "transcript": None}
        ]
        _, completed = await peer.expect(
            "conversation.item.input_audio_transcription.completed", after=committed_at, item_id=item_id
        )
        heard = completed["transcript"]
        assert "weather" in heard and "paris" in heard, heard
        deltas = [
            r.event["delta"]
            for r in peer.events[committed_at:]
            if r.event["type"] == "conversation.item.input_audio_transcription.delta"
        ]
        assert "".join(deltas) == heard and completed["content_index"] == 0
        assert completed["usage"]["total_tokens"] > 0

        start = len(peer.events)
        peer.send({"type": "response.create", "event_id": "evt_create"})
        stopped_at, stopped = await peer.expect("output_audio_buffer.stopped", after=start, timeout=20)
        assert collapse(peer.types(start, stopped_at + 1)) == RESPONSE_ORDER
        response_id = stopped["response_id"]
        await conformance.assert_response_order(peer, response_id, pacing="realtime")
        _, done = await peer.expect("response.done", after=start)
        response = done["response"]
        assert response["id"] == response_id and response["status"] == "completed"
        expected_text = f"You said: {heard}."
        assert response["output"][0]["content"] == [{"type": "output_audio", "transcript": expected_text}]
        assert response["usage"]["output_token_details"]["audio_tokens"] > 0
        assert response["usage"]["input_token_details"]["audio_tokens"] > 0
        _, transcript_done = await peer.expect("response.output_audio_transcript.done", after=start)
        assert transcript_done["transcript"] == expected_text

        started_at = next(
            r.at for r in peer.events[start:] if r.event["type"] == "output_audio_buffer.started"
        )
        played = [f for f in peer.audio if started_at <= f.at <= peer.events[stopped_at].at + 0.3]
        loud = [f for f in played if f.peak > silent_peak]
        assert len(loud) > len(played) // 3, "the reply was not audible"
        said = transcribe(np.concatenate([f.mono for f in played]))
        assert "weather" in said or "paris" in said, said
        conformance.assert_links(peer)


async def test_cancel_mid_response_silences_audio(
    realtime_server: StandInServer,
    sentence_audio: np.ndarray,
    connected: Connect,
    silent_peak: int,
    wait_until: Callable[...,  Awaitable[None]],
    conformance: ModuleType,
) -> None:
    """``realtime`` pacing: response.cancel silences at once (nothing was generated ahead)."""
    async with connected(realtime_server) as peer:
        peer.send({"type": "session.update", "session": MANUAL})
        await peer.expect("session.updated")
        await speak_and_commit(peer, sentence_audio)
        start = len(peer.events)
        peer.send({"type": "response.create"})
        _, first_delta = await peer.expect("response.output_audio_transcript.delta", after=start)
        response_id = first_delta["response_id"]
        # Cancel once "You said:" has been heard (the audio trails the deltas by the jitter buffer).
        await peer.expect("response.output_audio_transcript.delta", after=start, delta=" what")
        cancel_at = len(peer.events)
        peer.send({"type": "response.cancel", "event_id": "evt_cancel"})
        peer.send({"type": "output_audio_buffer.clear", "event_id": "evt_clear"})

        _, done = await peer.expect("response.done", after=cancel_at)
        assert done["response"]["status"] == "cancelled"
        assert done["response"]["status_details"] == {"type": "cancelled", "reason": "client_cancelled"}
        assert done["response"]["output"][0]["status"] == "incomplete"
        cleared_index, _ = await peer.expect(
            "output_audio_buffer.cleared", after=cancel_at, response_id=response_id
        )
        _, truncated = await peer.expect("conversation.item.truncated", after=cancel_at)
        assert truncated["item_id"] == first_delta["item_id"] and truncated["audio_end_ms"] > 0
        after_cancel = [t for t in peer.types(cancel_at) if t not in TRANSCRIPTION_EVENTS]
        # The documented order from response.output_audio.done up to rate_limits.updated.
        closing = RESPONSE_ORDER[RESPONSE_ORDER.index("response.output_audio.done") : -1]
        assert after_cancel[: len(closing)] == closing
        _, transcript_done = await peer.expect("response.output_audio_transcript.done", after=cancel_at)
        assert transcript_done["transcript"] and not transcript_done["transcript"].endswith("today.")

        cleared_at = peer.events[cleared_index].at
        await wait_until(
            lambda: any(f.at > cleared_at + 0.8 for f in peer.audio), what="audio after the clear"
        )
        assert any(f.peak > silent_peak for f in peer.audio if f.at < cleared_at), (
            "nothing played before cancel"
        )
        # The receiver's jitter buffer holds ~80 ms; anything still sounding 500 ms later was not cut
        # (a generous margin for a loaded CI machine: the uncut reply would go on for seconds).
        late = [f.peak for f in peer.audio if f.at > cleared_at + 0.5]
        assert late and max(late) <= silent_peak, max(late)
        assert "output_audio_buffer.stopped" not in peer.types(start)

        await conformance.assert_response_order(peer, response_id, pacing="realtime")
        again = len(peer.events)
        peer.send({"type": "response.create"})
        await peer.expect("response.created", after=again)
        conformance.assert_links(peer)


async def test_protocol_errors_keep_the_session_open(ahead_server: StandInServer, connected: Connect) -> None:
    async with connected(ahead_server) as peer:
        await _protocol_errors(peer)


async def _protocol_errors(peer: RawPeer) -> None:

    async def expect_error(event: dict[str, object] | str, code: str | None) -> dict[str, object]:
        start = len(peer.events)
        peer.channel.send(event if isinstance(event, str) else __import__("json").dumps(event))
        _, error_event = await peer.expect("error", after=start)
        error = error_event["error"]
        assert error["code"] == code and error["type"] == "invalid_request_error", error
        assert set(error) == {"type", "code", "message", "param", "event_id"}
        return dict(error)

    error = await expect_error(
        {"type": "response.cancel", "event_id": "evt_c1"}, "response_cancel_not_active"
    )
    assert error["message"] == "Cancellation failed: no active response found"
    assert error["event_id"] == "evt_c1"
    start = len(peer.events)
    peer.send({"type": "input_audio_buffer.clear"})
    peer.send({"type": "input_audio_buffer.commit", "event_id": "evt_empty"})
    await peer.expect("input_audio_buffer.cleared", after=start)
    _, empty = await peer.expect("error", after=start)
    assert empty["error"]["code"] == "input_audio_buffer_commit_empty"
    assert empty["error"]["event_id"] == "evt_empty"
    error = await expect_error({"type": "no.such.event", "event_id": "evt_x"}, "invalid_value")
    assert error["param"] == "type"
    await expect_error("{not json", "invalid_json")
    error = await expect_error(
        {"type": "session.update", "session": {"type": "realtime", "audio": {"output": {"voice": "nobody"}}}},
        "invalid_value",
    )
    assert error["param"] == "session.audio.output.voice"

    start = len(peer.events)
    peer.send({"type": "response.create", "event_id": "evt_r1"})
    _, created = await peer.expect("response.created", after=start)
    error = await expect_error(
        {"type": "response.create", "event_id": "evt_r2"}, "conversation_already_has_active_response"
    )
    assert error["event_id"] == "evt_r2" and created["response"]["id"] in str(error["message"])
    start = len(peer.events)
    peer.send({"type": "response.cancel"})
    _, done = await peer.expect("response.done", after=start)
    assert done["response"]["status"] == "cancelled"

    start = len(peer.events)
    peer.send({"type": "session.update", "session": {"type": "realtime", "instructions": "still here"}})
    _, updated = await peer.expect("session.updated", after=start)
    assert updated["session"]["instructions"] == "still here"
    peer.assert_valid()


async def test_text_only_response_and_item_retrieve(ahead_server: StandInServer, connected: Connect) -> None:
    async with connected(ahead_server) as peer:
        await _text_only(peer)


async def _text_only(peer: RawPeer) -> None:
    peer.send(
        {
            "type": "conversation.item.create",
            "item": {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "hello there"}],
            },
        }
    )
    _, added = await peer.expect("conversation.item.added")
    start = len(peer.events)
    peer.send({"type": "response.create", "response": {"output_modalities": ["text"]}})
    _, done = await peer.expect("response.done", after=start)
    assert done["response"]["output"][0]["content"] == [
        {"type": "output_text", "text": "You said: hello there."}
    ]
    types = peer.types(start)
    assert "response.output_text.delta" in types and "output_audio_buffer.started" not in types
    peer.send({"type": "conversation.item.retrieve", "item_id": added["item"]["id"]})
    _, retrieved = await peer.expect("conversation.item.retrieved")
    assert retrieved["item"]["id"] == added["item"]["id"]
    peer.assert_valid()


async def test_offer_without_candidates_connects_peer_reflexive(
    ahead_server: StandInServer,
    api_key: str,
    raw_peer: type[RawPeer],
    candidate_addresses: Callable[[str], set[str]],
) -> None:
    peer = raw_peer()
    try:
        await peer.connect(ahead_server.base_url, api_key, strip_candidates=True)
        assert candidate_addresses(peer.offer_sdp) == set()
        await peer.expect("session.created")
    finally:
        await peer.close()
