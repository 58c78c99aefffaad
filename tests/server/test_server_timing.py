"""Injected timing: the first audio and the input transcription are held for the configured delay,
the seeded jitter repeats with its seed, and the server's log tells the truth it injected."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import numpy as np
import pytest
import pytest_asyncio

from harness.protocol import SAMPLE_RATE
from harness.server import ResponsePacing, ServerConfig, StandInServer
from harness.server.timing import CallTiming, DelayKind, TimingLog

if TYPE_CHECKING:
    from tests.support.standin import Connect, StandIn

in_module_loop = pytest.mark.asyncio(loop_scope="module")

FIRST_AUDIO_MS = 1000.0
TRANSCRIPTION_MS = 900.0
FRAME_S = 0.020


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["normal", "load"])
async def delayed_server(request: pytest.FixtureRequest, standin: StandIn) -> AsyncIterator[StandInServer]:
    """Delays injected, in normal and in load mode (which must hold them the same way)."""
    async with standin(
        ResponsePacing.GENERATE_AHEAD,
        first_audio_delay_ms=FIRST_AUDIO_MS,
        transcription_delay_ms=TRANSCRIPTION_MS,
        load=request.param == "load",
    ) as running:
        yield running


def test_seeded_jitter_repeats_per_call_and_kind() -> None:
    config = ServerConfig(port=0, first_audio_delay_ms=100, jitter_ms=50, seed=42)

    def draws(seed_config: ServerConfig, call_index: int) -> list[float]:
        timing = CallTiming(seed_config, "rtc_x", call_index, TimingLog())
        return [timing.plan(DelayKind.FIRST_AUDIO, f"resp_{i}").target_ms for i in range(5)]

    first = draws(config, 1)
    assert first == draws(config, 1), "same seed and call: same delays"
    assert first != draws(config, 2), "each call has its own stream"
    assert first != draws(ServerConfig(port=0, first_audio_delay_ms=100, jitter_ms=50, seed=43), 1)
    assert all(100 <= d <= 150 for d in first)
    timing = CallTiming(config, "rtc_x", 1, TimingLog())
    timing.plan(DelayKind.TRANSCRIPTION, "item_a")  # another kind does not shift this one
    assert timing.plan(DelayKind.FIRST_AUDIO, "resp_0").target_ms == first[0]


@in_module_loop
async def test_first_audio_and_transcription_are_held(
    delayed_server: StandInServer, hello_audio: np.ndarray, connected: Connect
) -> None:
    async with connected(delayed_server) as peer:
        peer.send(
            {
                "type": "session.update",
                "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}},
            }
        )
        await peer.expect("session.updated")
        await peer.player.play(np.concatenate([hello_audio, np.zeros(SAMPLE_RATE // 4, dtype=np.int16)]))
        commit_sent = time.monotonic()
        peer.send({"type": "input_audio_buffer.commit"})
        committed_index, committed = await peer.expect("input_audio_buffer.committed")
        create_sent = time.monotonic()
        peer.send({"type": "response.create"})
        created_index, created = await peer.expect("response.created")
        response_id = created["response"]["id"]
        completed_index, _ = await peer.expect(
            "conversation.item.input_audio_transcription.completed", item_id=committed["item_id"]
        )
        await peer.expect("response.done")
        await peer.expect("output_audio_buffer.stopped", response_id=response_id)

        record = delayed_server.timing_log.for_response(response_id)
        assert record is not None and record.target_ms == FIRST_AUDIO_MS
        assert record.actual_ms is not None and record.actual_ms >= FIRST_AUDIO_MS
        assert record.actual_at is not None and record.actual_at < time.monotonic()
        item_record = delayed_server.timing_log.for_response(committed["item_id"])
        assert item_record is not None and item_record.kind is DelayKind.TRANSCRIPTION
        assert item_record.actual_ms is not None and item_record.actual_ms >= TRANSCRIPTION_MS

        # What the client saw: never early, and generously close to when the server says it let
        # go. "Never early" counts from when the client *sent* the request, which comes before the
        # server starts its clock whatever the delays in between (a receive instant would not: a
        # stall delaying `committed` shortens the gap to `completed`); one frame of slack for where
        # the 20 ms audio clock ticks. How late a loaded server is (its record) is
        # bench/first_audio_accuracy.py's figure, not this test's.
        created_at = peer.events[created_index].at
        first_sound = peer.first_sound_after(created_at)
        assert first_sound is not None
        assert first_sound - create_sent >= FIRST_AUDIO_MS / 1000 - FRAME_S
        assert first_sound - created_at < record.actual_ms / 1000 + 1.0
        completed_at = peer.events[completed_index].at
        assert completed_at - commit_sent >= TRANSCRIPTION_MS / 1000
        assert completed_at - peer.events[committed_index].at < item_record.actual_ms / 1000 + 1.0


@in_module_loop
async def test_speech_right_after_response_created_cancels_without_audio_events(
    delayed_server: StandInServer, hello_audio: np.ndarray, connected: Connect
) -> None:
    """The live API: user speech before any audio -> response.done cancelled, empty output."""
    async with connected(delayed_server) as peer:
        peer.send({"type": "session.update", "session": {"type": "realtime"}})  # server_vad
        await peer.expect("session.updated")
        silence = np.zeros(SAMPLE_RATE * 6 // 10, dtype=np.int16)
        await peer.player.play(np.concatenate([hello_audio, silence]))
        _, created = await peer.expect("response.created")
        mark = len(peer.events)
        await peer.player.play(np.concatenate([hello_audio, silence]))
        _, done = await peer.expect("response.done", after=mark)
        assert done["response"]["id"] == created["response"]["id"]
        assert done["response"]["status"] == "cancelled" and done["response"]["output"] == []
        assert done["response"]["status_details"]["reason"] == "turn_detected"
        between = peer.types(mark, peer.events.index(next(r for r in peer.events if r.event is done)))
        assert not any(t.startswith("output_audio_buffer.") for t in between), between
