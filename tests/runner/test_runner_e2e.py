"""The runner end to end over loopback WebRTC, against an in-process stand-in that holds each
reply's first audio for a known time (``first_audio_delay_ms``).

One run (module fixture) serves every test: the shipped feature tour (``scenarios/features.yaml``:
VAD and typed turns, a trimmed louder clip, a barge-in, an interruption, a raw event; its latency
budgets with room for a loaded machine, tests/support/budgets.py) plus typed turns whose
first-audio latency is compared with the injected delay, and one scenario with its own ``target``
(a second stand-in), ``connect`` mode and ``model``. The stand-in counts the delay from its
``response.created``, so (documented in docs/metrics.md): ``first_audio_ms`` is at least the delay,
and ``first_audio_ms - response_created_ms`` (response.created -> first loud packet, both on our
clock) is within ``DELAY_TOLERANCE_MS`` of the delay the server actually achieved (Opus
packetisation and loopback delivery of the audio versus the data channel's). That tolerance
leaves room for a loaded machine and still fails a delay measured at the wrong rate (half or twice
the 600 ms); the tight goal, +-50 ms, is bench/first_audio_accuracy.py's.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import soundfile

from harness.report.model import RunReport, ScenarioReport, TurnReport
from harness.report.render import render_run
from harness.runner import RunOptions, run_suite
from harness.scenario import load_scenarios
from harness.server import ServerConfig, StandInServer
from harness.server.timing import DelayKind
from harness.timeline import read_jsonl

if TYPE_CHECKING:
    from tests.support.cli import Cli

DELAY_MS = 600.0
DELAY_TOLERANCE_MS = (-250.0, 250.0)
API_KEY = "sk-rth-test-" + secrets.token_hex(8)

DELAY_SCENARIO = """\
name: injected_delay
turns:
  - {name: one, say: Hello there.}
  - {name: two, say: Book a table for two.}
  - {name: three, say: Thank you very much.}
"""
# Its own target (the second stand-in's URL goes in at run time), connect mode and model.
ELSEWHERE_SCENARIO = """\
name: elsewhere
target: {url}
connect: ephemeral
model: gpt-realtime-mini
turns:
  - {{say: Hello there., expect: {{response_status: completed}}}}
"""


@pytest.fixture(scope="module")
def served_first_audio_ms() -> dict[str, float]:
    """response_id -> when the stand-in actually sent the first audio (ms after its response.created)."""
    return {}


@pytest.fixture(scope="module")
def served_calls() -> dict[str, set[str]]:
    """"run" and "elsewhere" (the run's target and the second stand-in) -> the call ids each served."""
    return {}


@pytest.fixture(scope="module")
def run(
    tmp_path_factory: pytest.TempPathFactory,
    served_first_audio_ms: dict[str, float],
    served_calls: dict[str, set[str]],
    relaxed_suite: Callable[[str], Path],
) -> tuple[RunReport, Path]:
    folder = tmp_path_factory.mktemp("e2e")
    (folder / "delay.yaml").write_text(DELAY_SCENARIO, encoding="utf-8")

    async def main() -> tuple[RunReport, Path]:
        config = ServerConfig(host="127.0.0.1", port=0, api_key=API_KEY, first_audio_delay_ms=DELAY_MS)
        # A delay of its own, so that its timing log names the calls it served.
        other = dataclasses.replace(config, first_audio_delay_ms=1.0)
        async with StandInServer(config) as server, StandInServer(other) as elsewhere:
            (folder / "elsewhere.yaml").write_text(ELSEWHERE_SCENARIO.format(url=elsewhere.base_url))
            suites = [relaxed_suite("features.yaml"), folder / "delay.yaml", folder / "elsewhere.yaml"]
            options = RunOptions(
                target=server.base_url, api_key=API_KEY, out=folder / "reports", render=False
            )
            result = await run_suite(load_scenarios(suites), options)
            for record in server.timing_log.records:
                if record.kind is DelayKind.FIRST_AUDIO and record.actual_ms is not None:
                    served_first_audio_ms[record.subject_id] = record.actual_ms
            for name, standin in (("run", server), ("elsewhere", elsewhere)):
                served_calls[name] = {record.call_id for record in standin.timing_log.records}
            return result

    return asyncio.run(main())


def scenario(report: RunReport, name: str) -> ScenarioReport:
    return next(s for s in report.scenarios if s.name == name)


def turn(report: RunReport, name: str) -> TurnReport:
    return next(t for s in report.scenarios for t in s.turns if t.name == name)


def test_the_feature_tour_meets_every_expectation(run: tuple[RunReport, Path]) -> None:
    report, _ = run
    failed = [
        f"{s.name}/{t.name}: {v.describe()}"
        for s in report.scenarios
        for t in s.turns
        for v in t.verdicts
        if not v.passed
    ]
    failed += [f"{s.name}: {v.describe()}" for s in report.scenarios for v in s.verdicts if not v.passed]
    errors = [f"{s.name}/{t.name}: {t.error}" for s in report.scenarios for t in s.turns if t.error]
    assert (failed, errors) == ([], [])
    assert report.passed
    # Pooled over the turns that give a reference: `text` (vad, trimmed), `reply` (vad, typed).
    pooled_input, pooled_output = report.pooled_input_wer, report.pooled_output_wer
    assert pooled_input is not None and (pooled_input.utterances, pooled_input.reference_words) == (2, 13)
    assert pooled_output is not None and (pooled_output.utterances, pooled_output.reference_words) == (2, 18)


def test_injected_first_audio_delay_is_measured_within_tolerance(
    run: tuple[RunReport, Path], served_first_audio_ms: dict[str, float]
) -> None:
    """Our measurement against the stand-in's own record of when it sent the first audio.

    The server is never early (``first_audio_ms`` >= the delay). It can be late on a loaded
    machine, which is not a measurement error, so the tolerance applies to what we measured
    (response.created -> first loud packet) minus what the server actually did.
    """
    report, _ = run
    low, high = DELAY_TOLERANCE_MS
    turns = scenario(report, "injected_delay").turns
    first_audio = [t.latencies_ms["first_audio_ms"] for t in turns]
    created = [t.latencies_ms["response_created_ms"] for t in turns]
    assert all(value is not None and value >= DELAY_MS for value in first_audio), first_audio
    served = [served_first_audio_ms.get(t.response_id or "") for t in turns]
    assert all(value is not None and value >= DELAY_MS for value in served), served
    errors = [
        round(a - c - s, 1) for a, c, s in zip(first_audio, created, served, strict=True) if a and c and s
    ]
    print(f"injected {DELAY_MS} ms: first_audio_ms {first_audio}, served {served}, error {errors}")
    assert len(errors) == 3
    assert all(low <= error <= high for error in errors), errors


def test_vad_turn_is_anchored_on_the_servers_turn_end(run: tuple[RunReport, Path]) -> None:
    report, run_dir = run
    vad = turn(report, "vad")
    assert vad.mode == "vad" and vad.response_status == "completed"
    latencies = vad.latencies_ms
    assert latencies["first_audio_ms"] is not None and latencies["voice_to_voice_ms"] is not None
    # Speech ends before the server's VAD decides (it waits for silence): voice-to-voice is longer.
    assert latencies["voice_to_voice_ms"] > latencies["first_audio_ms"]
    entries = read_jsonl(run_dir / "timeline.jsonl")["modes"]
    updates = [e.data["session"] for e in entries if e.kind == "sent" and e.type == "session.update"]
    assert updates[1:] == [
        {"type": "realtime", "audio": {"input": {"turn_detection": {"type": "server_vad"}}}},
        {"type": "realtime", "audio": {"input": {"turn_detection": None}}},
    ]


def test_the_sent_clip_is_trimmed_and_its_speech_marked(run: tuple[RunReport, Path]) -> None:
    report, run_dir = run
    trimmed = turn(report, "trimmed")
    assert trimmed.audio_sent is not None
    info = soundfile.info(str(run_dir / trimmed.audio_sent))
    assert (info.samplerate, info.channels, info.frames) == (48_000, 1, 110_400)  # 2.3 s
    entries = read_jsonl(run_dir / "timeline.jsonl")["modes"]
    speech = [e for e in entries if e.type.startswith("audio.input.speech_") and e.turn == trimmed.index]
    assert [e.type for e in speech] == ["audio.input.speech_start", "audio.input.speech_end"]


def test_interruptions_are_timed_at_the_audio(run: tuple[RunReport, Path]) -> None:
    report, _ = run
    barge_in = turn(report, "barge_in")
    assert barge_in.response_status == "cancelled"
    stop = turn(report, "stop_playback")
    # Measured (the reply was sounding), never negative (docs/metrics.md: 0 when it fell silent
    # before the interruption), and within the tour's (relaxed) budget: its verdict says so.
    for stopped, metric in ((barge_in, "barge_in_to_silence_ms"), (stop, "cancel_to_silence_ms")):
        figure = stopped.latencies_ms[metric]
        assert figure is not None and figure >= 0, (metric, figure)
        verdict = next(v for v in stopped.verdicts if v.name == f"latency.{metric}")
        assert verdict.passed and verdict.measured == figure
    typed = turn(report, "typed")
    assert typed.consistency_wer is not None and typed.audio_transcript


def test_the_api_key_reaches_no_file_of_the_run(run: tuple[RunReport, Path]) -> None:
    _, run_dir = run
    render_run(run_dir)  # junit.xml, summary.md and index.html too
    files = [path for path in run_dir.rglob("*") if path.is_file()]
    assert {"report.json", "timeline.jsonl", "junit.xml", "summary.md", "index.html"} <= {
        p.name for p in files
    }
    assert [path for path in files if API_KEY.encode() in path.read_bytes()] == []


def test_cli_exit_code_follows_the_verdicts(tmp_path: Path, run_cli: Cli) -> None:
    strict = tmp_path / "strict.yaml"
    strict.write_text(
        "name: strict\nturns:\n  - say: Hello.\n"
        "    expect: {latency: {first_audio_ms: 1}, response_status: completed}\n"
    )
    result = run_cli("run", str(strict), "--out", str(tmp_path / "out"), in_subprocess=True, timeout=120)
    assert result.exit_code == 1, result.output
    assert "strict/turn0: latency.first_audio_ms:" in result.stdout
    assert "> 1" in result.stdout


def test_a_scenario_connects_to_its_own_target_with_its_own_mode_and_model(
    run: tuple[RunReport, Path], served_calls: dict[str, set[str]]
) -> None:
    report, run_dir = run
    mine, others = scenario(report, "elsewhere"), [s for s in report.scenarios if s.name != "elsewhere"]
    assert served_calls["elsewhere"] == {mine.call_id}
    assert {s.call_id for s in others} <= served_calls["run"] and mine.call_id not in served_calls["run"]
    assert (mine.model, report.model) == ("gpt-realtime-mini", "gpt-realtime")
    assert all(s.model == report.model for s in others)
    entries = read_jsonl(run_dir / "timeline.jsonl")["elsewhere"]
    start = next(e for e in entries if e.type == "connect.start")
    assert start.data["mode"] == "ephemeral" and start.data["model"] == "gpt-realtime-mini"
    created = next(e for e in entries if e.type == "session.created")
    assert created.data["session"]["model"] == "gpt-realtime-mini"  # what the stand-in was told
    assert (mine.connect_ms.get("connect_client_secret_ms") or 0) > 0
    assert all(s.connect_ms.get("connect_client_secret_ms") is None for s in others)
