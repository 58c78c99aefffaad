"""Nothing measured is lost when a run is stopped: SIGTERM (CI cancel, ``docker stop``, ``timeout``)
as Ctrl-C does, for ``rth run`` and ``rth load``, in real subprocesses over real loopback WebRTC.

The first signal winds the run down (no new session, peers closed, the partial report written and
marked interrupted, exit 128 + signal); a second one exits at once with the timeline intact.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.support.cli import Cli, CliResult

TYPED = """
name: typed
turns:
  - {say: Please book a table for two., expect: {response_status: completed}}
  - {say: Tell me a long story about the sea., expect: {response_status: completed}}
  - {say: Thank you very much., expect: {response_status: completed}}
"""


@pytest.fixture(scope="module")
def typed_scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("signals") / "typed.yaml"
    path.write_text(TYPED, encoding="utf-8")
    return path


def run_dirs(out: Path) -> list[Path]:
    return [p for p in out.iterdir() if p.is_dir() and not p.is_symlink()] if out.exists() else []


def reply_measured(out: Path, pattern: str = "timeline*.jsonl") -> bool:
    """True once a reply has been measured (a response.done on a timeline of the run directory)."""
    return any('"type":"response.done"' in t.read_text() for d in run_dirs(out) for t in d.glob(pattern))


def timeline_records(run_dir: Path) -> list[dict[str, Any]]:
    """Every line of every timeline file parses: nothing was cut mid-record."""
    lines = [line for t in run_dir.glob("timeline*.jsonl") for line in t.read_text().splitlines()]
    return [json.loads(line) for line in lines]


def test_sigterm_stops_rth_run_like_ctrl_c(typed_scenario: Path, tmp_path: Path, run_cli: Cli) -> None:
    result = run_cli(
        "run",
        str(typed_scenario),
        "--out",
        str(tmp_path),
        in_subprocess=True,
        interrupt_when=lambda: reply_measured(tmp_path),
        interrupt_with=(signal.SIGTERM,),
        timeout=90,
    )
    assert result.exit_code == 143, result.stderr
    assert "Traceback" not in result.stderr
    (run_dir,) = run_dirs(tmp_path)
    # The message names the real run directory; `latest` is a symlink to it, nothing else.
    assert f"interrupted by SIGTERM; the partial report is {run_dir / 'report.json'}" in result.stderr
    assert (tmp_path / "latest").is_symlink() and (tmp_path / "latest").resolve() == run_dir.resolve()
    report = json.loads((run_dir / "report.json").read_text())
    assert report["interrupted"] is True
    (session,) = report["scenarios"]
    assert session["failure_kind"] == "interrupted"
    assert session["turns"][0]["response_status"] == "completed"  # measured before the signal: kept
    assert len(session["turns"]) < 3
    assert timeline_records(run_dir)
    assert (run_dir / "junit.xml").is_file()


def interrupted_load(
    run_cli: Cli, scenario: Path, out: Path, options: tuple[str, ...], signum: signal.Signals
) -> CliResult:
    """`rth load` of one user on one worker, sent ``signum`` once a reply was measured."""
    return run_cli(
        *["load", str(scenario), "--users", "1", "--workers", "1", "--out", str(out), *options],
        in_subprocess=True,
        interrupt_when=lambda: reply_measured(out, "timeline.w*.jsonl"),
        interrupt_with=(signum,),
        timeout=90,
    )


def test_sigterm_stops_rth_load_with_its_figures(typed_scenario: Path, tmp_path: Path, run_cli: Cli) -> None:
    result = interrupted_load(run_cli, typed_scenario, tmp_path, ("--duration", "120"), signal.SIGTERM)
    assert result.exit_code == 143, result.stderr
    assert "Traceback" not in result.stderr
    (run_dir,) = run_dirs(tmp_path)
    assert f"the partial report is {run_dir / 'report.json'}" in result.stderr
    report = json.loads((run_dir / "report.json").read_text())
    assert report["interrupted"] is True
    figures = report["load"]
    assert figures["sessions_started"] >= 1 and figures["turns_completed"] >= 1
    assert figures["latency_ms"]["first_audio_ms"]["count"] >= 1
    # The worker wound its sessions down and sent its sample: the sampled session is in the report.
    assert report["scenarios"] and report["scenarios"][0]["turns"][0]["response_status"] == "completed"
    assert timeline_records(run_dir)


def test_ctrl_c_during_the_graceful_stop_cuts_the_sessions_and_keeps_their_figures(
    typed_scenario: Path, tmp_path: Path, run_cli: Cli
) -> None:
    """The 1 s duration is over when the first reply is measured, so Ctrl-C lands in a grace of
    600 s: the session is cut after the short grace instead, and its worker's figures and sample
    still reach the report."""
    options = ("--duration", "1", "--graceful-stop", "600")
    result = interrupted_load(run_cli, typed_scenario, tmp_path, options, signal.SIGINT)
    assert result.exit_code == 130, result.stderr
    assert "Traceback" not in result.stderr
    (run_dir,) = run_dirs(tmp_path)
    report = json.loads((run_dir / "report.json").read_text())
    assert report["interrupted"] is True
    figures = report["load"]
    assert figures["graceful_stop_s"] == 600
    assert figures["sessions_started"] == 1 and figures["turns_completed"] >= 1
    assert figures["sessions_completed"] == figures["sessions_failed"] == 0  # cut: neither
    assert report["scenarios"] and report["scenarios"][0]["turns"][0]["response_status"] == "completed"


def test_a_second_signal_exits_at_once_with_the_timeline_intact(
    typed_scenario: Path, tmp_path: Path, run_cli: Cli
) -> None:
    result = run_cli(
        "run",
        str(typed_scenario),
        "--out",
        str(tmp_path),
        in_subprocess=True,
        interrupt_when=lambda: reply_measured(tmp_path),
        interrupt_with=(signal.SIGINT, signal.SIGTERM),
        timeout=30,
    )
    # Back to back, the two reach a multi-threaded process in either order (each goes to whichever
    # thread the kernel picks; on a loaded machine the first one's thread may run second): the
    # second one obeyed names itself and sets the exit status.
    assert result.exit_code in (130, 143), result.stderr
    second = signal.Signals(result.exit_code - 128).name
    (run_dir,) = run_dirs(tmp_path)
    timeline = run_dir / "timeline.jsonl"
    assert f"{second} while stopping: stopped at once; the timeline so far is in {timeline}" in result.stderr
    assert "Traceback" not in result.stderr
    records = timeline_records(run_dir)
    assert any(r.get("type") == "response.done" for r in records)


STOPPABLE = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    import typer
    from harness.cli._app import exit_codes
    from harness.cli._signals import run_stoppable

    out = Path(sys.argv[1])

    async def work() -> None:
        print("ready", flush=True)
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:  # what run_suite does: keep the report, go on stopping
            (out / "report.json").write_text("{}")
            raise

    try:
        with exit_codes(report=out / "report.json"):
            run_stoppable(work(), out)
    except typer.Exit as stop:
        sys.exit(stop.exit_code)
    """
)


@pytest.mark.parametrize(
    ("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"]
)
def test_either_signal_cancels_the_work_which_keeps_its_report(
    sig: signal.Signals, code: int, tmp_path: Path, repo_root: Path
) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", STOPPABLE, str(tmp_path)],
        cwd=repo_root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline() == "ready\n"
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == code, stderr
    report = tmp_path / "report.json"
    assert report.is_file()
    assert stderr.strip() == f"rth: interrupted by {sig.name}; the partial report is {report}"
