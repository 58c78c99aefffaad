"""Drive one scenario's turns over a connected session: speak, send actions, wait, capture.

Nothing here scores: it only makes things happen and lets the session record them on the
timeline. What a turn produced (its captured audio, the error that stopped it) goes into a
:class:`~harness.scoring.record.TurnRecord` for the scoring step.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.client import RealtimeSession
from harness.errors import ConnectionLost, HarnessError, ServerEventTimeout
from harness.metrics.latency import ROLE_TURN
from harness.protocol import Milestone, ServerEventType
from harness.report.model import FailureKind
from harness.runner.actions import TurnContext, run_action, user_message
from harness.runner.modes import TurnDetectionSwitch
from harness.runner.speech import ClipCache, prepare_turn_clips, speak
from harness.runner.workers import CpuPool
from harness.scenario import Scenario, resolve_audio
from harness.scoring.record import TurnRecord
from harness.timeline import EntryKind

# After a response: how long to wait for its audio to finish playing (output_audio_buffer.stopped),
# then for the capture's level detector to declare the offset (its 500 ms hangover; otherwise the
# next turn's reply would continue the same sound stretch and get no onset of its own), and how
# much received audio to keep after that (the receiver's jitter buffer holds ~80 ms).
PLAYOUT_TIMEOUT_S = 60.0
QUIET_TIMEOUT_S = 2.0
QUIET_POLL_S = 0.02
CAPTURE_TAIL_S = 0.25


def _response_ids(session: RealtimeSession, since: float) -> list[str]:
    return [
        str(entry.data["response"]["id"])
        for entry in session.timeline.entries
        if entry.kind == EntryKind.RECEIVED
        and entry.type == ServerEventType.RESPONSE_CREATED
        and entry.t >= since
    ]


async def await_playout(session: RealtimeSession, turn_start: float) -> None:
    """Wait until every response created in this turn has finished (or stopped) playing its audio.

    A response that produced no audio (cancelled early, text modality) ends at response.done.
    """
    created_ids = _response_ids(session, turn_start)
    for response_id in created_ids:

        def same_response(event: dict[str, Any], rid: str = response_id) -> bool:
            return event.get("response_id") == rid or (event.get("response") or {}).get("id") == rid

        await session.wait_for(
            ServerEventType.RESPONSE_DONE, timeout=PLAYOUT_TIMEOUT_S, after=turn_start, match=same_response
        )
        started = any(
            entry.kind == EntryKind.RECEIVED
            and entry.type == ServerEventType.OUTPUT_AUDIO_BUFFER_STARTED
            and entry.t >= turn_start
            and same_response(entry.data)
            for entry in session.timeline.entries
        )
        if not started:
            continue
        await session.wait_for_any(
            (ServerEventType.OUTPUT_AUDIO_BUFFER_STOPPED, ServerEventType.OUTPUT_AUDIO_BUFFER_CLEARED),
            timeout=PLAYOUT_TIMEOUT_S,
            after=turn_start,
            match=same_response,
        )
    if created_ids:
        await _until_quiet(session)
        await asyncio.sleep(CAPTURE_TAIL_S)


async def _until_quiet(session: RealtimeSession) -> None:
    """Wait (bounded) until the received audio has gone quiet long enough to count as an offset."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + QUIET_TIMEOUT_S
    while session.output_audio_active and loop.time() < deadline:
        await asyncio.sleep(QUIET_POLL_S)


def classify(error: BaseException) -> FailureKind:
    """The failure kind of an error raised while a connected session ran."""
    if isinstance(error, ServerEventTimeout | TimeoutError):
        return FailureKind.TIMEOUT
    if isinstance(error, ConnectionLost):
        return FailureKind.DISCONNECTED
    return FailureKind.PROTOCOL


def new_turn_record(scenario: Scenario, index: int) -> TurnRecord:
    turn = scenario.turns[index]
    audio = resolve_audio(scenario, turn.audio.path) if turn.audio else None
    return TurnRecord(
        index=index, label=scenario.turn_label(index), audio_source=audio, mode=scenario.turn_mode(index)
    )


async def run_turn(
    session: RealtimeSession,
    scenario: Scenario,
    record: TurnRecord,
    audio_dir: Path,
    switch: TurnDetectionSwitch,
    pool: CpuPool,
    *,
    record_output: bool = True,
    clip_cache: ClipCache | None = None,
) -> None:
    """Speak the turn (audio or a typed message) and run its actions, filling ``record``.

    The caller holds ``record`` before this starts, so an interrupted turn is still reported.
    Every clip of the turn (its audio and barge-ins) is prepared in ``pool`` before it starts.
    """
    turn = scenario.turns[record.index]
    timeline = session.timeline
    timeline.turn = record.index
    ctx = TurnContext(session, scenario, record.index, record.label, audio_dir, anchor=0.0)
    try:
        clips = await prepare_turn_clips(pool, scenario, record.index, ctx, clip_cache)
        clip = clips.audio
        ctx.barge_in_clips = list(clips.barge_ins)
        record.audio_sent = clip.path if clip else None
        if turn.say is None:
            await switch.ensure(session, record.mode)
    except HarnessError as exc:
        record.error, record.failure_kind = str(exc), classify(exc)
        return
    timeline.mark(Milestone.TURN_START, {"name": record.label, "mode": record.mode})
    turn_start = ctx.anchor = timeline.now()
    if record_output:
        session.begin_output_recording(audio_dir / f"{record.index:02d}-{record.label}.received.wav")
    try:
        if clip is not None:
            await speak(session, clip, ROLE_TURN)
        if turn.say is not None:
            await session.send(user_message(turn.say))
        for action in turn.actions_for(record.mode):
            await run_action(ctx, action)
        await await_playout(session, turn_start)
    except HarnessError as exc:
        record.error, record.failure_kind = str(exc), classify(exc)
    except asyncio.CancelledError:
        record.error, record.failure_kind = "interrupted", FailureKind.INTERRUPTED
        raise
    finally:
        if record_output:
            captured = session.end_output_recording()
            record.audio_received = captured.path
            record.received_non_silent = captured.non_silent
            record.received_peak_dbfs = captured.peak_dbfs
        timeline.mark(Milestone.TURN_END, {"name": record.label})


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


async def run_turns(
    session: RealtimeSession,
    scenario: Scenario,
    records: list[TurnRecord],
    audio_dir: Path,
    pool: CpuPool,
    on_turn: Callable[[TurnRecord], None] | None = None,
    *,
    record_output: bool = True,
    clip_cache: ClipCache | None = None,
) -> None:
    """Run the scenario's turns in order, appending each record before it starts (``on_turn`` is
    told then); stop at the first turn that failed (later turns would measure a confused
    conversation)."""
    switch = TurnDetectionSwitch(scenario)
    for index in range(len(scenario.turns)):
        records.append(new_turn_record(scenario, index))
        if on_turn is not None:
            on_turn(records[-1])
        await run_turn(
            session,
            scenario,
            records[-1],
            audio_dir,
            switch,
            pool,
            record_output=record_output,
            clip_cache=clip_cache,
        )
        if records[-1].error is not None:
            break
