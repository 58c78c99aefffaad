"""Drive one scenario's turns over a connected session: play audio, send actions, wait, capture.

Nothing here scores: it only makes things happen and lets the session record them on the
timeline. What a turn produced (its captured audio, the error that stopped it) is returned as a
:class:`TurnOutcome` for the scoring step.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.client import CapturedAudio, RealtimeSession
from harness.errors import HarnessError, ServerEventTimeout
from harness.protocol import ClientEventType, ServerEventType
from harness.report.model import FailureKind
from harness.scenario import (
    Action,
    Cancel,
    Clear,
    Commit,
    CreateResponse,
    Scenario,
    Sleep,
    Turn,
    WaitFor,
    resolve_audio,
)
from harness.timeline import EntryKind, Milestone

# After a response: how long to wait for its audio to finish playing (output_audio_buffer.stopped)
# and how much received audio to keep after that (the receiver's jitter buffer holds ~80 ms).
PLAYOUT_TIMEOUT_S = 60.0
CAPTURE_TAIL_S = 0.25


@dataclass
class TurnOutcome:
    index: int
    label: str
    audio_sent: Path | None
    captured: CapturedAudio | None = None
    error: str | None = None
    failure_kind: FailureKind | None = None


async def run_action(session: RealtimeSession, action: Action, anchor: float) -> float:
    """Carry out one action; return the new anchor (time of the last event sent) for waits."""
    if isinstance(action, Commit):
        await session.send({"type": ClientEventType.INPUT_AUDIO_BUFFER_COMMIT})
    elif isinstance(action, CreateResponse):
        event: dict[str, Any] = {"type": ClientEventType.RESPONSE_CREATE}
        if action.create_response:
            event["response"] = action.create_response
        await session.send(event)
    elif isinstance(action, Cancel):
        await session.send({"type": ClientEventType.RESPONSE_CANCEL})
        await session.send({"type": ClientEventType.OUTPUT_AUDIO_BUFFER_CLEAR})
    elif isinstance(action, Clear):
        await session.send({"type": ClientEventType.INPUT_AUDIO_BUFFER_CLEAR})
    elif isinstance(action, WaitFor):
        await session.wait_for(action.wait_for.event, timeout=action.wait_for.timeout_ms / 1000, after=anchor)
        return anchor
    elif isinstance(action, Sleep):
        await asyncio.sleep(action.sleep_ms / 1000)
        return anchor
    return session.timeline.now()


async def await_playout(session: RealtimeSession, turn_start: float) -> None:
    """Wait until every response created in this turn has finished (or stopped) playing its audio.

    A response that produced no audio (cancelled early, text modality) ends at response.done.
    """
    timeline = session.timeline
    created_ids = [
        str(entry.data["response"]["id"])
        for entry in timeline.entries
        if entry.kind == EntryKind.RECEIVED
        and entry.type == ServerEventType.RESPONSE_CREATED
        and entry.t >= turn_start
    ]
    for response_id in created_ids:

        def same_response(event: dict[str, Any], rid: str = response_id) -> bool:
            return event.get("response_id") == rid or (event.get("response") or {}).get("id") == rid

        await session.wait_for(
            ServerEventType.RESPONSE_DONE, timeout=PLAYOUT_TIMEOUT_S, after=turn_start, match=same_response
        )
        started = timeline.first(
            EntryKind.RECEIVED, ServerEventType.OUTPUT_AUDIO_BUFFER_STARTED, after=turn_start
        )
        if started is None or started.data.get("response_id") != response_id:
            continue
        await session.wait_for_any(
            (ServerEventType.OUTPUT_AUDIO_BUFFER_STOPPED, ServerEventType.OUTPUT_AUDIO_BUFFER_CLEARED),
            timeout=PLAYOUT_TIMEOUT_S,
            after=turn_start,
            match=same_response,
        )
    if created_ids:
        await asyncio.sleep(CAPTURE_TAIL_S)


def _classify(error: BaseException) -> FailureKind:
    if isinstance(error, ServerEventTimeout | TimeoutError):
        return FailureKind.TIMEOUT
    return FailureKind.PROTOCOL


def new_outcome(scenario: Scenario, index: int) -> TurnOutcome:
    turn = scenario.turns[index]
    audio = resolve_audio(scenario, turn.audio) if turn.audio else None
    return TurnOutcome(index=index, label=scenario.turn_label(index), audio_sent=audio)


async def run_turn(session: RealtimeSession, turn: Turn, outcome: TurnOutcome, audio_dir: Path) -> None:
    """Play the turn's audio and run its actions, filling ``outcome`` as it goes.

    The caller holds ``outcome`` before this starts, so an interrupted turn is still reported.
    """
    timeline = session.timeline
    timeline.turn = outcome.index
    timeline.mark(Milestone.TURN_START, {"name": outcome.label})
    turn_start = timeline.now()
    session.capture.begin_segment(audio_dir / f"{outcome.index:02d}-{outcome.label}.received.wav")
    try:
        if outcome.audio_sent is not None:
            await session.play(outcome.audio_sent)
        anchor = timeline.now()
        for action in turn.actions:
            anchor = await run_action(session, action, anchor)
        await await_playout(session, turn_start)
    except HarnessError as exc:
        outcome.error = str(exc)
        outcome.failure_kind = _classify(exc)
    except asyncio.CancelledError:
        outcome.error, outcome.failure_kind = "interrupted", FailureKind.INTERRUPTED
        raise
    finally:
        outcome.captured = session.capture.end_segment()
        timeline.mark(Milestone.TURN_END, {"name": outcome.label})


async def await_input_transcriptions(session: RealtimeSession, timeout: float) -> None:
    """Input transcription is asynchronous: give committed items a bounded time to be transcribed."""
    timeline = session.timeline
    committed = {
        str(entry.data.get("item_id"))
        for entry in timeline.entries
        if entry.kind == EntryKind.RECEIVED and entry.type == ServerEventType.INPUT_AUDIO_BUFFER_COMMITTED
    }
    finished_types = (
        ServerEventType.INPUT_TRANSCRIPTION_COMPLETED,
        ServerEventType.INPUT_TRANSCRIPTION_FAILED,
    )
    for item_id in committed:

        def same_item(event: dict[str, Any], wanted: str = item_id) -> bool:
            return event.get("item_id") == wanted

        try:
            await session.wait_for_any(finished_types, timeout=timeout, after=0.0, match=same_item)
        except ServerEventTimeout:
            continue
