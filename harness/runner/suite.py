"""Run a suite of scenarios against one target and write the run directory.

One session per scenario, scenarios one after another (load and repeats come later). The report
is rewritten after every scenario and on any exit (error, Ctrl-C), so nothing measured is lost.
"""

from __future__ import annotations

import asyncio
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
from harness.report.writer import write_report
from harness.runner.scoring import score_run, score_scenario
from harness.runner.turns import TurnOutcome, await_input_transcriptions, new_outcome, run_turn
from harness.scenario import Scenario
from harness.timeline import Timeline

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
    config: dict[str, Any] = {"type": "realtime", **scenario.session}
    audio = dict(config.get("audio") or {})
    audio["input"] = {**DEFAULT_INPUT_AUDIO, **(audio.get("input") or {})}
    config["audio"] = audio
    return config


@asynccontextmanager
async def open_target(options: RunOptions) -> AsyncIterator[Target]:
    """Resolve ``--target``: ``local`` starts the stand-in in-process on a free loopback port."""
    if options.target == LOCAL_TARGET:
        from harness.server import ServerConfig, StandInServer

        key = "sk-rth-local-" + secrets.token_hex(8)
        async with StandInServer(ServerConfig(host="127.0.0.1", port=0, api_key=key)) as server:
            yield Target(base_url=server.base_url, api_key=key, model=options.model)
        return
    parts = urlsplit(options.target)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ScenarioError(
            f"--target {options.target!r} is not a URL; use 'local' or a base URL like https://api.openai.com/v1"
        )
    api_key = options.api_key or os.environ.get("OPENAI_API_KEY")
    if not api_key:
        raise ScenarioError("OPENAI_API_KEY is not set; export it, or use --target local")
    yield Target(base_url=options.target.rstrip("/"), api_key=api_key, model=options.model)


async def run_scenario(
    scenario: Scenario,
    target: Target,
    options: RunOptions,
    run_dir: RunDirectory,
    reports: list[ScenarioReport],
) -> None:
    """Run one scenario and append its report to ``reports``, whatever happens (errors, Ctrl-C)."""
    timeline = Timeline(scenario.name, stream=run_dir.timeline)
    audio_dir = run_dir.path / "audio" / scenario.name
    audio_dir.mkdir(parents=True, exist_ok=True)
    outcomes: list[TurnOutcome] = []
    session: RealtimeSession | None = None
    error: tuple[str, FailureKind] | None = None
    try:
        session = await RealtimeSession.connect(
            target,
            timeline=timeline,
            session_config=session_config(scenario),
            mode=options.connect,
            timeout=CONNECT_TIMEOUT_S,
        )
        for index, turn in enumerate(scenario.turns):
            outcomes.append(new_outcome(scenario, index))
            await run_turn(session, turn, outcomes[-1], audio_dir)
            if outcomes[-1].error is not None:
                break
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
        reports.append(report)


async def run_suite(scenarios: Sequence[Scenario], options: RunOptions) -> tuple[RunReport, Path]:
    """Run every scenario; return the report and the run directory (also written on errors/Ctrl-C)."""
    run_id = options.run_id or new_run_id()
    path = options.out / run_id
    path.mkdir(parents=True, exist_ok=True)
    _point_latest(options.out, run_id)
    report = RunReport(
        run_id=run_id,
        tool_version=__version__,
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        target=options.target,
        connect_mode=str(options.connect),
        model=options.model,
    )
    with (path / "timeline.jsonl").open("w", encoding="utf-8") as stream:
        run_dir = RunDirectory(path=path, timeline=stream)
        try:
            async with open_target(options) as target:
                for scenario in scenarios:
                    await run_scenario(scenario, target, options, run_dir, report.scenarios)
                    write_report(score_run(report), run_dir.report_path)
        except (asyncio.CancelledError, KeyboardInterrupt):
            report.interrupted = True
            raise
        except ConnectError as exc:
            report.scenarios.append(
                ScenarioReport(name="<target>", error=str(exc), failure_kind=FailureKind.CONNECT)
            )
        finally:
            report.finished_at = datetime.now(UTC).isoformat(timespec="seconds")
            write_report(score_run(report), run_dir.report_path)
    return report, path


def _point_latest(out: Path, run_id: str) -> None:
    """``reports/latest`` -> the newest run (best effort: some filesystems have no symlinks)."""
    latest = out / "latest"
    try:
        if latest.is_symlink() or latest.exists():
            latest.unlink()
        latest.symlink_to(run_id, target_is_directory=True)
    except OSError:
        pass
