"""One planned session, start to finish: connect, run the turns, hang up, hand the record to scoring.

Whatever ends the session (its last turn, an error, Ctrl-C), a :class:`SessionRecord` is built and
scored, so the report keeps every turn that ran. Nothing here is shared with other sessions but
the run directory's timeline stream and the worker pool.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from harness.client import ConnectMode, RealtimeSession
from harness.errors import HarnessError
from harness.report.model import FailureKind, ScenarioReport
from harness.runner.plan import PlannedRun, voice_of
from harness.runner.progress import RunObserver
from harness.runner.run_dir import RunDirectory
from harness.runner.targets import ResolvedTarget, connect_mode, model_name, scenario_target
from harness.runner.turns import await_input_transcriptions, run_turns
from harness.runner.workers import CpuPool
from harness.scenario import Scenario
from harness.scoring import SessionRecord, TurnRecord, score_session
from harness.timeline import Timeline

logger = logging.getLogger(__name__)

TRANSCRIPTION_GRACE_S = 10.0

# Used when a scenario does not say: push-to-talk turns with input transcription, so a scenario
# written for the stand-in behaves the same against the live API (whose default is server_vad).
DEFAULT_INPUT_AUDIO: dict[str, Any] = {
    "turn_detection": None,
    "transcription": {"model": "gpt-4o-mini-transcribe", "language": "en"},
}


def session_config(scenario: Scenario) -> dict[str, Any]:
    """The session.update payload: the scenario's session with push-to-talk defaults filled in."""
    config: dict[str, Any] = {"type": "realtime", **scenario.session.payload()}
    audio = dict(config.get("audio") or {})
    audio["input"] = {**DEFAULT_INPUT_AUDIO, **(audio.get("input") or {})}
    config["audio"] = audio
    return config


async def run_session(
    planned: PlannedRun,
    resolved: ResolvedTarget,
    run_dir: RunDirectory,
    pool: CpuPool,
    observer: RunObserver,
    connect: ConnectMode,
    position: int,
) -> ScenarioReport:
    """Run one planned session; its scored report goes into ``run_dir`` at plan ``position``
    whatever happens (errors; on Ctrl-C it is kept, then the interruption goes on)."""
    scenario = planned.scenario
    model = planned.variant.get("model") or model_name(scenario, resolved.target.model)
    timeline = Timeline(planned.instance, stream=run_dir.timeline)
    audio_dir = run_dir.path / "audio" / planned.instance
    audio_dir.mkdir(parents=True, exist_ok=True)
    turns: list[TurnRecord] = []
    session: RealtimeSession | None = None
    error: tuple[str, FailureKind] | None = None
    observer.session_started(planned.instance)
    try:
        session = await RealtimeSession.connect(
            scenario_target(resolved, scenario, model),
            timeline=timeline,
            session_config=session_config(scenario),
            mode=connect_mode(scenario, connect),
        )
        await run_turns(
            session,
            scenario,
            turns,
            audio_dir,
            pool,
            on_turn=lambda turn: observer.turn_started(planned.instance, turn.label),
        )
        timeline.turn = None
        await await_input_transcriptions(session, TRANSCRIPTION_GRACE_S)
    except HarnessError as exc:
        error = (str(exc), FailureKind.CONNECT if session is None else FailureKind.PROTOCOL)
    except (asyncio.CancelledError, KeyboardInterrupt):
        error = ("interrupted", FailureKind.INTERRUPTED)
        raise
    except Exception as exc:  # a bug of ours: this session fails, the others go on
        logger.exception("session %s failed", planned.instance)
        error = (f"internal error {type(exc).__name__}: {exc}", FailureKind.INTERNAL)
    finally:
        if session is not None:
            await asyncio.shield(session.close())
        record = SessionRecord(
            scenario=scenario,
            instance=planned.instance,
            root=run_dir.path,
            entries=tuple(timeline.entries),
            started_at=timeline.started_at.isoformat(timespec="milliseconds"),
            duration_s=round(timeline.now(), 3),
            turns=tuple(turns),
            variant=planned.variant.as_dict(),
            repeat=planned.repeat,
            model=model,
            voice=voice_of(scenario),
            call_id=session.call_id if session is not None else None,
            error=error[0] if error else None,
            failure_kind=error[1] if error else None,
        )

        def keep(report: ScenarioReport) -> None:
            run_dir.add(position, report)
            observer.session_finished(planned.instance, report)

        report = await score_and_keep(pool, record, keep)
    return report


async def score_and_keep(
    pool: CpuPool, record: SessionRecord, keep: Callable[[ScenarioReport], None]
) -> ScenarioReport:
    """Score in the pool and ``keep`` the report. If the pool is gone, or the wait is cut (Ctrl-C
    while scoring), score here without re-transcription rather than lose the session."""
    try:
        report = await pool.call(score_session, record)
    except asyncio.CancelledError:
        keep(score_session(record, recogniser=None))
        raise
    except (BrokenProcessPool, RuntimeError) as exc:
        logger.warning("scoring %s without re-transcription: the pool failed (%r)", record.instance, exc)
        report = score_session(record, recogniser=None)
    keep(report)
    return report
