"""Session settings and edge cases over real loopback WebRTC: server VAD that neither interrupts nor
answers, the voice lock once assistant audio exists, ``output_audio_buffer.clear`` with nothing
playing, the ``obfuscation`` padding of deltas, and a transcription that fails (its ASR worker
killed) followed by one that works again.

The ``realtime`` pacing server keeps a response active for as long as its audio plays, so "the
user spoke while a response was active" holds for the whole of the long story reply.
"""

from __future__ import annotations

import signal
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import numpy as np
import pytest

from harness.protocol import SAMPLE_RATE
from harness.server import ResponsePacing, StandInServer

if TYPE_CHECKING:
    from tests.support.raw_peer import RawPeer
    from tests.support.standin import Connect, StandIn

pytestmark = pytest.mark.asyncio(loop_scope="module")

SILENCE = np.zeros(SAMPLE_RATE, dtype=np.int16)
TRAILING_SILENCE = np.zeros(SAMPLE_RATE * 3 // 10, dtype=np.int16)


async def marker(peer: RawPeer) -> None:
    """A round trip after everything the server sent so far: the events it answers a client event
    with come in order, so an automatic response to a turn already committed would come first."""
    await peer.configure(instructions="marker")


async def test_vad_without_interrupt_response_or_create_response(
    realtime_server: StandInServer,
    connected: Connect,
    hello_audio: np.ndarray,
    silent_peak: int,
    wait_until: Callable[..., Awaitable[None]],
) -> None:
    async with connected(realtime_server) as peer:
        vad = {"type": "server_vad", "interrupt_response": False}
        await peer.configure(audio={"input": {"turn_detection": vad}})
        await peer.type_message("tell me a story")
        story_id = await peer.create_response()
        await peer.expect("output_audio_buffer.started", response_id=story_id)

        # interrupt_response false: the user's turn is committed, the story is neither cleared nor
        # cancelled, and (a response being active) no response answers the turn.
        mark = len(peer.events)
        await peer.player.play(np.concatenate([hello_audio, SILENCE]))
        await peer.expect("input_audio_buffer.speech_started", after=mark)
        committed_index, _ = await peer.expect("input_audio_buffer.committed", after=mark)
        await marker(peer)
        during = peer.types(mark)
        assert "output_audio_buffer.cleared" not in during and "response.created" not in during, during
        committed_at = peer.events[committed_index].at
        await wait_until(
            lambda: any(f.at > committed_at + 0.3 and f.peak > silent_peak for f in peer.audio),
            what="the story sounding on after the user's turn",
        )
        mark = len(peer.events)
        peer.send({"type": "output_audio_buffer.clear"})
        await peer.expect("output_audio_buffer.cleared", after=mark, response_id=story_id)
        _, done = await peer.expect("response.done", timeout=20)  # the call's first response
        assert done["response"]["id"] == story_id
        assert (done["response"]["status_details"] or {}).get("reason") != "turn_detected"

        # create_response false: a finished turn is committed and nothing answers it.
        vad = {"type": "server_vad", "create_response": False}
        await peer.configure(audio={"input": {"turn_detection": vad}})
        mark = len(peer.events)
        await peer.player.play(np.concatenate([hello_audio, SILENCE]))
        await peer.expect("input_audio_buffer.speech_stopped", after=mark)
        await peer.expect("input_audio_buffer.committed", after=mark)
        await marker(peer)
        assert "response.created" not in peer.types(mark), peer.types(mark)


async def test_voice_lock_clear_with_nothing_playing_and_obfuscation(
    realtime_server: StandInServer, connected: Connect
) -> None:
    async with connected(realtime_server) as peer:
        # Nothing has played: clear answers cleared with no response, and the voice may change.
        peer.send({"type": "output_audio_buffer.clear", "event_id": "evt_clear_0"})
        _, cleared = await peer.expect("output_audio_buffer.cleared")
        assert cleared["response_id"] == ""
        session = await peer.configure(audio={"output": {"voice": "marin"}})
        assert session["audio"]["output"]["voice"] == "marin"

        await peer.type_message("hello there")
        reply_id = await peer.create_response()
        await peer.expect("output_audio_buffer.stopped", response_id=reply_id, timeout=20)
        deltas = [
            r.event
            for r in peer.events
            if r.event["type"] == "response.output_audio_transcript.delta"
        ]
        assert deltas and all(
            isinstance(d["obfuscation"], str) and d["obfuscation"].isalnum() for d in deltas
        ), deltas

        # Played out: clear names the last response with audio and truncates nothing.
        mark = len(peer.events)
        peer.send({"type": "output_audio_buffer.clear", "event_id": "evt_clear_1"})
        _, cleared = await peer.expect("output_audio_buffer.cleared", after=mark)
        assert cleared["response_id"] == reply_id

        # Assistant audio exists: the voice is locked; other settings still change.
        peer.send(
            {
                "type": "session.update",
                "event_id": "evt_voice",
                "session": {"type": "realtime", "audio": {"output": {"voice": "cedar"}}},
            }
        )
        _, error = await peer.expect("error", after=mark)
        assert error["error"]["code"] == "cannot_update_voice" and error["error"]["event_id"] == "evt_voice"
        assert error["error"]["param"] == "session.audio.output.voice"
        session = await peer.configure(instructions="still here")
        assert session["audio"]["output"]["voice"] == "marin" and session["instructions"] == "still here"
        after = peer.types(mark)
        assert "conversation.item.truncated" not in after and after.count("error") == 1, after


async def test_a_failed_transcription_is_reported_and_the_next_turn_is_heard(
    standin: StandIn, connected: Connect, hello_audio: np.ndarray
) -> None:
    async with standin(ResponsePacing.GENERATE_AHEAD, asr_workers=1) as server:
        await server.warm_up()
        async with connected(server) as peer:
            manual = {"turn_detection": None, "transcription": {"model": "gpt-4o-mini-transcribe"}}
            await peer.configure(audio={"input": manual})
            assert server._asr is not None
            (worker,) = server._asr._all
            worker.process.send_signal(signal.SIGKILL)  # the recogniser dies under this turn
            await worker.process.wait()
            first = await spoken_commit(peer, hello_audio)
            _, failed = await peer.expect(
                "conversation.item.input_audio_transcription.failed", item_id=first
            )
            assert failed["error"]["code"] == "transcription_failed" and failed["content_index"] == 0
            second = await spoken_commit(peer, hello_audio)  # a new worker took the dead one's place
            _, completed = await peer.expect(
                "conversation.item.input_audio_transcription.completed", item_id=second
            )
            assert "hello" in completed["transcript"]
            assert "conversation.item.input_audio_transcription.completed" not in [
                r.event["type"] for r in peer.events if r.event.get("item_id") == first
            ]


async def spoken_commit(peer: RawPeer, audio: np.ndarray) -> str:
    """Play ``audio`` and a little silence, commit; the committed item's id."""
    mark = len(peer.events)
    await peer.player.play(np.concatenate([audio, TRAILING_SILENCE]))
    peer.send({"type": "input_audio_buffer.commit"})
    _, committed = await peer.expect("input_audio_buffer.committed", after=mark)
    return str(committed["item_id"])
