"""Run a suite of scenarios against one target and write the run directory.

One session per planned run (scenario x matrix variant x repetition, see plan.py), one after
another. The report is rewritten after every session and on any exit (error, Ctrl-C), so nothing
measured is lost; junit.xml, summary.md and index.html are rendered from it at the end.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from harness import __version__
from harness.client import ConnectMode, RealtimeSession, Target
from harness.errors import ConnectError, HarnessError, ScenarioError
from harness.report.model import FailureKind, RunReport, ScenarioReport
from harness.report.prices import PriceTable, apply_prices, load_prices
from harness.report.provenance import environment, scenario_file
from harness.report.usage import attach_usage
from harness.report.writer import write_report
from harness.runner.plan import PlannedRun, build_plan, voice_of
from harness.runner.scoring import score_run, score_scenario
from harness.runner.targets import ResolvedTarget, TargetPool, connect_mode, model_name, scenario_target
from harness.runner.turns import TurnOutcome, await_input_transcriptions, run_turns
from harness.scenario import Scenario, resolve_audio
from harness.timeline import Timeline

logger = logging.getLogger(__name__)

LOCAL_TARGET = "local"
DEFAULT_MODEL = "gpt-realtime"
CONNECT_TIMEOUT_S = 20.0
TRANSCRIPTION_GRACE_S = 10.0

# Used when a scenario does not say: push-to-talk turns with input transcription, so a scenario
# written for the stand-in behaves the same against the live API (whose default is server_vad).
DEFAULT_INPUT_AUDIO: dict[str, Any] = {
    "turn_detection": None,
    "transcription": {"model": "gpt-4o-mini-transcribe", "language": "en"},
}


@dataclass
class RunOptions:
    target: str = LOCAL_TARGET
    connect: ConnectMode = ConnectMode.UNIFIED
    out: Path = Path("reports")
    model: str = DEFAULT_MODEL
    api_key: str | None = field(default=None, repr=False)
    run_id: str | None = None
    repeat: int = 1
    matrix: dict[str, list[str]] = field(default_factory=dict)
    prices: Path | None = None
    render: bool = True  # junit.xml, summary.md and index.html at the end

    def describe(self) -> dict[str, Any]:
        """The options as recorded in report.json (never the key)."""
        return {
            "target": self.target,
            "connect": str(self.connect),
            "model": self.model,
            "out": str(self.out),
            "repeat": self.repeat,
            "matrix": self.matrix,
            "prices": str(self.prices) if self.prices else None,
        }


@dataclass
class RunDirectory:
    path: Path
    timeline: IO[str]

    @property
    def report_path(self) -> Path:
        return self.path / "report.json"


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


def session_config(scenario: Scenario) -> dict[str, Any]:
    """The session.update payload: the scenario's session with push-to-talk defaults filled in."""
    config: dict[str, Any] = {"type": "realtime", **scenario.session.payload()}
    audio = dict(config.get("audio") or {})
    audio["input"] = {**DEFAULT_INPUT_AUDIO, **(audio.get("input") or {})}
    config["audio"] = audio
    return config


def remote_target(options: RunOptions) -> Target:
    """A URL ``--target`` with its key (``api_key`` or ``OPENAI_API_KEY``); errors say what to do."""
    parts = urlsplit(options.target)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ScenarioError(
            f"--target {options.target!r} is not a URL; use 'local' or a base URL like https://api.openai.com/v1"
        )
    api_key = options.api_key or os.environ.get("OPENAI_API_KEY")
    if not api_key:
        raise ScenarioError("OPENAI_API_KEY is not set; export it, or use --target local")
    return Target(base_url=options.target.rstrip("/"), api_key=api_key, model=options.model)


@asynccontextmanager
async def open_target(options: RunOptions) -> AsyncIterator[ResolvedTarget]:
    """Resolve ``--target``: ``local`` starts the stand-in in-process on a free loopback port."""
    if options.target == LOCAL_TARGET:
        from harness.server import ServerConfig, StandInServer

        key = "sk-rth-local-" + secrets.token_hex(8)
        async with StandInServer(ServerConfig(host="127.0.0.1", port=0, api_key=key)) as server:
            target = Target(base_url=server.base_url, api_key=key, model=options.model)
            yield ResolvedTarget(target, builtin=True)
        return
    yield ResolvedTarget(remote_target(options))


def _keep_sent_audio(report: ScenarioReport, outcomes: Sequence[TurnOutcome], root: Path) -> None:
    """Point ``audio_sent`` at the exact audio sent (written into the run directory by the turn
    runner, gain and trim applied); the scenario's own WAV moves to ``audio_source``."""
    sent = {outcome.index: outcome.sent_file for outcome in outcomes}
    for turn in report.turns:
        turn.audio_source, turn.audio_sent = turn.audio_sent, None
        path = sent.get(turn.index)
        if path is not None and path.is_file():
            turn.audio_sent = str(path.resolve().relative_to(root.resolve()))


async def run_scenario(
    planned: PlannedRun,
    resolved: ResolvedTarget,
    options: RunOptions,
    run_dir: RunDirectory,
    reports: list[ScenarioReport],
) -> None:
    """Run one planned session and append its report to ``reports``, whatever happens (errors, Ctrl-C)."""
    scenario = planned.scenario
    model = planned.variant.get("model") or model_name(scenario, resolved.target.model)
    timeline = Timeline(planned.instance, stream=run_dir.timeline)
    audio_dir = run_dir.path / "audio" / planned.instance
    audio_dir.mkdir(parents=True, exist_ok=True)
    outcomes: list[TurnOutcome] = []
    session: RealtimeSession | None = None
    error: tuple[str, FailureKind] | None = None
    try:
        session = await RealtimeSession.connect(
            scenario_target(resolved, scenario, model),
            timeline=timeline,
            session_config=session_config(scenario),
            mode=connect_mode(scenario, options.connect),
            timeout=CONNECT_TIMEOUT_S,
        )
        await run_turns(session, scenario, outcomes, audio_dir)
        timeline.turn = None
        await await_input_transcriptions(session, TRANSCRIPTION_GRACE_S)
    except HarnessError as exc:
        error = (str(exc), FailureKind.CONNECT if session is None else FailureKind.PROTOCOL)
    except (asyncio.CancelledError, KeyboardInterrupt):
        error = ("interrupted", FailureKind.INTERRUPTED)
        raise
    finally:
        if session is not None:
            await asyncio.shield(session.close())
        report = score_scenario(scenario, timeline, outcomes, run_dir.path)
        report.call_id = session.call_id if session is not None else None
        if error is not None:
            report.error, report.failure_kind = error
        report.instance, report.variant, report.repeat = (
            planned.instance,
            planned.variant.as_dict(),
            planned.repeat,
        )
        report.model, report.voice = model, voice_of(scenario)
        attach_usage(report, timeline.entries)
        _keep_sent_audio(report, outcomes, run_dir.path)
        reports.append(report)


class SuiteRun:
    """An open run directory: the report header and the timeline stream; sessions are added one by one.

    ``run_suite`` drives it for ``rth run``; the pytest plugin drives it one test item at a time.
    """

    def __init__(self, options: RunOptions, scenarios: Sequence[Scenario]) -> None:
        self.options = options
        self.prices: PriceTable = load_prices(options.prices)  # a bad table fails before any call
        run_id = options.run_id or new_run_id()
        self.path = options.out / run_id
        self.path.mkdir(parents=True, exist_ok=True)
        _point_latest(options.out, run_id)
        self.report = RunReport(
            run_id=run_id,
            tool_version=__version__,
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
            target=options.target,
            connect_mode=str(options.connect),
            model=options.model,
            repeat=options.repeat,
            matrix=options.matrix,
            config=options.describe(),
            scenario_files=[
                scenario_file(
                    s.source, [resolve_audio(s, clip.path) for t in s.turns for _, clip in t.clips()]
                )
                for s in scenarios
                if s.source is not None and s.source.is_file()
            ],
            environment=environment(),
        )
        self._stream = (self.path / "timeline.jsonl").open("w", encoding="utf-8")
        self.run_dir = RunDirectory(path=self.path, timeline=self._stream)

    async def run(self, planned: PlannedRun, resolved: ResolvedTarget) -> ScenarioReport:
        await run_scenario(planned, resolved, self.options, self.run_dir, self.report.scenarios)
        self.save()
        return self.report.scenarios[-1]

    def save(self) -> None:
        write_report(apply_prices(score_run(self.report), self.prices), self.run_dir.report_path)

    def finish(self) -> RunReport:
        """Write the final report, close the timeline, render junit.xml, summary.md and index.html."""
        self.report.finished_at = datetime.now(UTC).isoformat(timespec="seconds")
        self.save()
        self._stream.close()
        if self.options.render:
            try:
                from harness.report.render import render_run

                render_run(self.path, self.report)
            except Exception:  # a renderer bug must not cost the measurements (report.json is written)
                logger.exception("rendering the reports of %s failed; retry with `rth report`", self.path)
        return self.report


async def run_suite(scenarios: Sequence[Scenario], options: RunOptions) -> tuple[RunReport, Path]:
    """Run every planned session; return the report and the run directory (also written on errors/Ctrl-C)."""
    plan = build_plan(scenarios, options.repeat, options.matrix)
    run = SuiteRun(options, scenarios)
    try:
        async with TargetPool(options, open_target) as targets:
            for planned in plan:
                resolved = await targets.get(planned.scenario)
                await run.run(planned, resolved)
    except (asyncio.CancelledError, KeyboardInterrupt):
        run.report.interrupted = True
        raise
    except ConnectError as exc:
        run.report.scenarios.append(
            ScenarioReport(name="<target>", error=str(exc), failure_kind=FailureKind.CONNECT)
        )
    finally:
        run.finish()
    return run.report, run.path


def _point_latest(out: Path, run_id: str) -> None:
    """``reports/latest`` -> the newest run (best effort: some filesystems have no symlinks)."""
    latest = out / "latest"
    try:
        if latest.is_symlink() or latest.exists():
            latest.unlink()
        latest.symlink_to(run_id, target_is_directory=True)
    except OSError:
        pass
