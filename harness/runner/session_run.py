"""One planned session, start to finish: connect, run the turns, hang up, hand the record to scoring.

Whatever ends the session (its last turn, an error, Ctrl-C), a :class:`SessionRecord` is built and
scored, so the report keeps every turn that ran. Nothing here is shared with other sessions but
the run directory's timeline stream and the worker pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import IO, Any, Protocol

from harness.client import ConnectMode, RealtimeSession
from harness.client.opus_input import OpusClipCache
from harness.errors import HarnessError
from harness.protocol.faults import NetworkSpec, network_of
from harness.report.model import FailureKind, ScenarioReport
from harness.runner.plan import PlannedRun, voice_of
from harness.runner.progress import RunObserver
from harness.runner.speech import ClipCache
from harness.runner.targets import ResolvedTarget, connect_mode, model_name, scenario_target
from harness.runner.turns import await_input_transcriptions, classify, run_turns
from harness.runner.workers import CpuPool
from harness.scenario import Scenario
from harness.scoring import SessionRecord, TurnRecord, score_session
from harness.timeline import Timeline

logger = logging.getLogger(__name__)

TRANSCRIPTION_GRACE_S = 10.0
RTP_STATS_TIMEOUT_S = 1.0
CLOSE_TIMEOUT_S = 10.0  # hang-up (3 s) and closing the peer connection

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


class SessionStore(Protocol):
    """Where a scored session goes: ``rth run``'s run directory, or a load worker's sample store."""

    @property
    def path(self) -> Path: ...

    @property
    def timeline(self) -> IO[str]: ...

    def add(self, position: int, report: ScenarioReport) -> None: ...


class SessionDriver:
    """One planned session's life: connect, run the turns, hang up; then :meth:`record` is what it
    measured, however it ended. ``rth run`` scores every record; a load worker scores a sample and
    reads only latencies off the rest."""

    def __init__(
        self,
        planned: PlannedRun,
        resolved: ResolvedTarget,
        connect: ConnectMode,
        timeline: Timeline,
        audio_dir: Path,
        pool: CpuPool,
        *,
        record_output: bool = True,
        clip_cache: ClipCache | None = None,
        opus_clips: OpusClipCache | None = None,
        network: NetworkSpec | None = None,
    ) -> None:
        """``opus_clips`` puts the session on the client's load path: pre-encoded input from that
        per-process cache and, as it records no reply audio, onsets at packet arrival without
        decoding (``record_output`` must then be False). ``network`` impairs the RTP the client
        sends, unless the scenario says otherwise (``client_network``)."""
        self.planned = planned
        self.model = planned.variant.get("model") or model_name(planned.scenario, resolved.target.model)
        self.resolved, self.connect_mode = resolved, connect
        self.timeline, self.audio_dir, self.pool = timeline, audio_dir, pool
        self.record_output, self.clip_cache, self.opus_clips = record_output, clip_cache, opus_clips
        spec = planned.scenario.client_network or network
        self.network = network_of(spec) if spec is not None else None
        self.turns: list[TurnRecord] = []
        self.session: RealtimeSession | None = None
        self.error: tuple[str, FailureKind] | None = None
        self.rtp: dict[str, float | int | None] | None = None

    async def drive(
        self,
        on_turn: Callable[[TurnRecord], None] | None = None,
        on_connected: Callable[[RealtimeSession], None] | None = None,
    ) -> None:
        """Run the session to its end. Failures become :attr:`error` (this session's, never the
        run's); an interruption is recorded, then goes on."""
        scenario = self.planned.scenario
        try:
            self.session = await RealtimeSession.connect(
                scenario_target(self.resolved, scenario, self.model),
                timeline=self.timeline,
                session_config=session_config(scenario),
                mode=connect_mode(scenario, self.connect_mode),
                opus_clips=self.opus_clips,
                decode_output=self.opus_clips is None or self.record_output,
                network=self.network,
            )
            if on_connected is not None:
                on_connected(self.session)
            await run_turns(
                self.session,
                scenario,
                self.turns,
                self.audio_dir,
                self.pool,
                on_turn,
                record_output=self.record_output,
                clip_cache=self.clip_cache,
            )
            self.timeline.turn = None
            await await_input_transcriptions(self.session, TRANSCRIPTION_GRACE_S)
        except HarnessError as exc:
            kind = FailureKind.CONNECT if self.session is None else classify(exc)
            self.error = (str(exc), kind)
        except (asyncio.CancelledError, KeyboardInterrupt):
            self.error = ("interrupted", FailureKind.INTERRUPTED)
            raise
        except Exception as exc:  # a bug of ours: this session fails, the others go on
            logger.exception("session %s failed", self.planned.instance)
            self.error = (f"internal error {type(exc).__name__}: {exc}", FailureKind.INTERNAL)

    async def close(self) -> None:
        """Read the RTP counters, then hang up (shielded: an interrupt must not leave the call open;
        bounded: a peer connection that will not close must not hold the session's report)."""
        if self.session is not None:
            with contextlib.suppress(Exception):  # counters are a nicety; the hang-up is not
                async with asyncio.timeout(RTP_STATS_TIMEOUT_S):
                    self.rtp = dataclasses.asdict(await self.session.rtp_stats())
            try:
                async with asyncio.timeout(CLOSE_TIMEOUT_S):
                    await asyncio.shield(self.session.close())
            except TimeoutError:
                logger.warning("session %s: closing took over %g s", self.planned.instance, CLOSE_TIMEOUT_S)

    def record(self, root: Path) -> SessionRecord:
        planned, timeline, session = self.planned, self.timeline, self.session
        return SessionRecord(
            scenario=planned.scenario,
            instance=planned.instance,
            root=root,
            entries=tuple(timeline.entries),
            rtp=self.rtp,
            started_at=timeline.started_at.isoformat(timespec="milliseconds"),
            duration_s=round(timeline.now(), 3),
            turns=tuple(self.turns),
            variant=planned.variant.as_dict(),
            repeat=planned.repeat,
            model=self.model,
            voice=voice_of(planned.scenario),
            call_id=session.call_id if session is not None else None,
            error=self.error[0] if self.error else None,
            failure_kind=self.error[1] if self.error else None,
        )


async def run_session(
    planned: PlannedRun,
    resolved: ResolvedTarget,
    store: SessionStore,
    pool: CpuPool,
    observer: RunObserver,
    connect: ConnectMode,
    position: int,
    *,
    clip_cache: ClipCache | None = None,
    network: NetworkSpec | None = None,
) -> ScenarioReport:
    """Run one planned session and score it; the report goes into ``store`` at plan ``position``
    whatever happens (errors; on Ctrl-C it is kept, then the interruption goes on)."""
    timeline = Timeline(planned.instance, stream=store.timeline)
    audio_dir = store.path / "audio" / planned.instance
    audio_dir.mkdir(parents=True, exist_ok=True)
    driver = SessionDriver(
        planned, resolved, connect, timeline, audio_dir, pool, clip_cache=clip_cache, network=network
    )
    observer.session_started(planned.instance)
    try:
        await driver.drive(on_turn=lambda turn: observer.turn_started(planned.instance, turn.label))
    finally:
        await driver.close()

        def keep(report: ScenarioReport) -> None:
            store.add(position, report)
            observer.session_finished(planned.instance, report)

        report = await score_and_keep(pool, driver.record(store.path), keep)
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
