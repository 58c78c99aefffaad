"""The fault matrix: every fault kind the stand-in injects, each in its own session of one `rth run`,
side by side (ten at a time), through the CLI over real loopback WebRTC. Each session ends as
docs/reliability.md says (a clear error of the right kind, or recovery), none outlives its own
timeout, the session without faults passes next to them, and the report is written. One more
session runs against an `rth serve --faults FILE` (server-wide faults) and brings faults of its own."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.protocol.faults import FAULT_KINDS

RTH = [sys.executable, "-m", "harness.cli"]
REPO = Path(__file__).resolve().parents[2]
SAY = "{say: Hello there., expect: {output_transcript_contains: hello}}"

SERVER_FAULTS = """
faults:
  - {kind: http_status, status: 503, times: 1}
  - {kind: unknown_event, after: session.created, type: rth.server_wide}
"""

# name -> the scenario's fault lines (YAML) and turns; one scenario per fault kind, plus a control.
SCENARIOS: dict[str, tuple[str, str]] = {
    "control": ("", SAY),
    "http_503_twice": ("faults: [{kind: http_status, status: 503, times: 2}]", SAY),
    "http_429_secret": (
        "connect: ephemeral\n"
        "    faults: [{kind: http_status, status: 429, retry_after_s: 1, on: client_secrets}]",
        SAY,
    ),
    "http_500_always": ("faults: [{kind: http_status, status: 500, times: 100}]", SAY),
    "slow_answer": ("faults: [{kind: slow_answer, ms: 800}]", SAY),
    "drop_data_channel": ("faults: [{kind: drop_data_channel, after: response.created}]", SAY),
    # Drops anchored on events, not on ms after the channel opened: 20 sessions connecting at once
    # on a loaded machine can take longer than such a delay, and the drop then ends the connect.
    "drop_peer": ("faults: [{kind: drop_peer, after: output_audio_buffer.started}]", SAY),
    "drop_peer_speaking": (
        "faults: [{kind: drop_peer, after: input_audio_buffer.speech_started}]",  # mid-clip
        "{audio: AUDIO/thank_you.wav, mode: vad}",
    ),
    "malformed_event": ("faults: [{kind: malformed_event}]", SAY),
    "unknown_event": ("faults: [{kind: unknown_event, after: response.done}]", SAY),
    "no_response_done": (
        "faults: [{kind: no_response_done}]",
        "{say: Hello there.,"
        " actions: [create_response, {wait_for: {event: response.done, timeout_ms: 2000}}]}",
    ),
    "delay": ("faults: [{kind: delay, ms: 400, events: [response.created]}]", SAY),
    "duplicate": ("faults: [{kind: duplicate, events: [response.done]}]", SAY),
    "reorder": ("faults: [{kind: reorder, events: [response.output_audio_transcript.done]}]", SAY),
    "rtp_loss": ("faults: [{kind: rtp_loss, percent: 20, direction: to_client, seed: 1}]", SAY),
    "rtp_jitter": ("faults: [{kind: rtp_jitter, ms: 200, direction: to_client}]", SAY),
    "rtp_rate": ("faults: [{kind: rtp_rate, kbit_s: 16, direction: to_client}]", SAY),
    # Two turns: the preset's 3 % loss must have struck before the stand-in's last receiver report
    # (about one a second); in one short turn it sometimes had not.
    "network": ("faults: [{kind: network, preset: edge, direction: from_client}]", f"{SAY}, {SAY}"),
    "client_network": ("client_network: {loss_percent: 30, seed: 2}", f"{SAY}, {SAY}"),
}


# Ten at a time: with all 20 at once, a machine at a third of its speed (three busy processes
# beside the run) timed out 14 of the checks (session.updated later than 5 s); ten at a time
# passed there in the same wall time, and costs ~6 s on a quiet machine (25 s against ~19 s).
OPTIONS = ("--concurrency", "10", "--standin", "process")


def suite_text(served_url: str) -> str:
    lines = ["suite: faults", "scenarios:"]
    for name, (options, turn) in SCENARIOS.items():
        turn = turn.replace("AUDIO", str(REPO / "fixtures" / "audio"))
        lines += [f"  - name: {name}", *([f"    {options}"] if options else []), f"    turns: [{turn}]"]
    lines += [
        "  - name: served",
        f"    target: {served_url}",
        "    faults: [{kind: duplicate, events: [session.created]}]",
        f"    turns: [{SAY}]",
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An `rth serve --faults FILE` on a free loopback port: its base URL."""
    path = tmp_path_factory.mktemp("serve") / "faults.yaml"
    path.write_text(SERVER_FAULTS, encoding="utf-8")
    process = subprocess.Popen(
        [*RTH, "serve", "--port", "0", "--faults", str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("rth stand-in listening on "), line
        yield line.split()[-1]
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def run(served: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One `rth run` of the whole matrix, every session at once: its exit code, report and events."""
    folder = tmp_path_factory.mktemp("matrix")
    (folder / "faults.yaml").write_text(suite_text(served), encoding="utf-8")
    out = folder / "reports"
    env = {**os.environ, "OPENAI_API_KEY": "sk-for-the-rth-serve"}  # any key: rth serve takes any
    result = subprocess.run(
        # The stand-in in a process of its own: 20 sessions on one loop with it would starve both
        # sides' RTP pacing on 2 cores (packet counts drop to a third), the figures checked here.
        [*RTH, "run", str(folder / "faults.yaml"), "--out", str(out), *OPTIONS],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env=env,
    )
    assert "Traceback" not in result.stderr, result.stderr
    latest = out / "latest"
    report = json.loads((latest / "report.json").read_text(encoding="utf-8"))
    events: dict[str, list[dict[str, Any]]] = {}
    for line in (latest / "timeline.jsonl").read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        events.setdefault(entry["session"], []).append(entry)
    return {
        "exit": result.returncode,
        "stdout": result.stdout,
        "dir": latest,
        "sessions": {s["name"]: s for s in report["scenarios"]},
        "events": events,
    }


def received(run: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [e for e in run["events"][name] if e["kind"] == "received"]


def test_every_fault_kind_is_in_the_matrix() -> None:
    kinds = {kind for options, _ in SCENARIOS.values() for kind in re.findall(r"kind: (\w+)", options)}
    assert kinds == set(FAULT_KINDS)


def test_the_report_is_written_with_every_session_and_the_run_fails(run: dict[str, Any]) -> None:
    assert run["exit"] == 1  # some sessions failed, as they should
    assert set(run["sessions"]) == {*SCENARIOS, "served"}
    for name in ("junit.xml", "summary.md", "index.html"):
        assert (run["dir"] / name).is_file()


RECOVERED = [
    "control",
    "http_503_twice",
    "http_429_secret",
    "slow_answer",
    "malformed_event",
    "unknown_event",
    "delay",
    "duplicate",
    "reorder",
    "rtp_loss",
    "rtp_jitter",
    "rtp_rate",
    "network",
    "client_network",
    "served",
]
# name -> failure kind, words of the error, and how long it may take: the span of its turn (from
# turn.start, s) up to its wait's timeout (default 15 s), or for a connect failure the session's
# span up to the connect timeout (20 s). A hang would go past these; a kind other than timeout
# shows the fault was recognised rather than waited out.
FAILED = {
    "http_500_always": ("connect", "HTTP 500", 20),
    "drop_data_channel": ("disconnected", "data channel closed", 15),
    "drop_peer": ("disconnected", "closed", 15),
    "drop_peer_speaking": ("disconnected", "closed", 15),  # it used to hang: the sender stopped pulling
    "no_response_done": ("timeout", "no 'response.done' event within 2 s", 2 + 2),
}


def turn_span(run: dict[str, Any], name: str) -> float:
    entries = run["events"][name]
    start = next(e["t"] for e in entries if e["type"] == "turn.start")
    end = next(e["t"] for e in entries if e["type"] == "turn.end")
    return float(end - start)


@pytest.mark.parametrize("name", RECOVERED)
def test_recovers_and_passes_next_to_the_failures(run: dict[str, Any], name: str) -> None:
    session = run["sessions"][name]
    assert session["error"] is None and session["failure_kind"] is None, session["error"]
    assert all(
        turn["error"] is None and all(v["passed"] for v in turn["verdicts"]) for turn in session["turns"]
    )


@pytest.mark.parametrize("name", sorted(FAILED))
def test_fails_with_a_clear_error_of_its_kind_within_its_timeout(run: dict[str, Any], name: str) -> None:
    kind, words, most_s = FAILED[name]
    session = run["sessions"][name]
    errors = [session["error"], *(turn["error"] for turn in session["turns"])]
    error = next(e for e in errors if e)
    assert session["failure_kind"] == kind and words in error and "\n" not in error
    assert (session["duration_s"] if kind == "connect" else turn_span(run, name)) < most_s
    assert name in run["stdout"]  # named in the terminal table


def test_retries_are_counted(run: dict[str, Any]) -> None:
    retries = {name: s["connect_retries"] for name, s in run["sessions"].items() if s["connect_retries"]}
    assert retries == {"http_503_twice": 2, "http_429_secret": 1, "http_500_always": 3, "served": 1}
    waits = [e["data"]["wait_s"] for e in run["events"]["http_429_secret"] if e["type"] == "connect.retry"]
    assert waits[0] >= 1.0  # Retry-After honoured


def test_event_faults_show_on_the_timeline(run: dict[str, Any]) -> None:
    sessions = run["sessions"]
    assert sessions["malformed_event"]["invalid_messages"] == 1
    assert "response.future_event" in [e["type"] for e in received(run, "unknown_event")]
    done = [e["data"]["event_id"] for e in received(run, "duplicate") if e["type"] == "response.done"]
    assert len(done) == 2 and done[0] == done[1]
    order = [e["type"] for e in received(run, "reorder")]
    assert order.index("response.content_part.done") < order.index("response.output_audio_transcript.done")
    assert sessions["delay"]["turns"][0]["latencies_ms"]["response_created_ms"] >= 400
    assert sessions["slow_answer"]["connect_ms"]["connect_sdp_exchange_ms"] >= 800
    served = [e["type"] for e in received(run, "served")]
    assert sorted(served[:3]) == ["rth.server_wide", "session.created", "session.created"]  # both plans


def test_an_impaired_network_shows_in_the_rtp_counters(run: dict[str, Any]) -> None:
    rtp = {name: run["sessions"][name]["rtp"] for name in SCENARIOS}
    loss = rtp["rtp_loss"]
    assert 0.1 < loss["packets_lost"] / (loss["packets_lost"] + loss["packets_received"]) < 0.3
    # Delays of 0..200 ms at 20 ms spacing reorder about half the packets (RFC 3550's jitter then
    # reads 20-50 ms: it counts only the packets that arrive in sequence order, those whose delay
    # beat every earlier one's; tests/client/test_client_arrival_jitter.py). The control call's
    # jitter is no yardstick: it comes from kernel receive stamps, so it is the stand-in's own
    # pacing, 3-6 ms on a quiet machine but 24 ms seen with the cores busy. A late sender still
    # sends in order over loopback, so the control call reorders nothing.
    jittered, control = rtp["rtp_jitter"], rtp["control"]
    assert jittered["packets_out_of_order"] > 0.25 * jittered["packets_received"], jittered
    assert control["packets_out_of_order"] == 0, control
    assert jittered["jitter_ms"] > 15, jittered
    page = (run["dir"] / "index.html").read_text(encoding="utf-8")
    assert f"{jittered['packets_out_of_order']} out of order" in page
    rate = rtp["rtp_rate"]  # 16 kbit/s cannot carry the reply's ~100 kbit/s: most of it queues, then drops
    assert rate["packets_lost"] / (rate["packets_lost"] + rate["packets_received"]) > 0.15
    assert rtp["network"]["remote_packets_lost"] > 0  # the stand-in reports losing what we sent
    client = rtp["client_network"]
    # The far end counts losses as of its last receiver report (aiortc sends one every 0.5-1.5 s,
    # later on a loaded stand-in), so it may not cover the last second sent: the lower bound is
    # half the 30 % dropped; the upper one catches a loss applied twice or to the wrong side.
    assert 0.15 < client["remote_packets_lost"] / client["packets_sent"] < 0.45
    assert rtp["control"]["packets_lost"] == 0 and rtp["control"]["remote_packets_lost"] in (0, None)
