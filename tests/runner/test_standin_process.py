"""``--target local`` runs the stand-in in a process of its own, and that process never outlives
the run: not a normal end, not Ctrl-C, not a parent killed outright. Its timing records reach
the runner through ``timing_log_path``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from harness.runner import RunOptions
from harness.runner.targets import open_target
from harness.server.config import ServerConfig
from harness.server.timing import CallTiming, DelayKind, TimingLog, read_timing_log

REPO = Path(__file__).resolve().parents[2]
RTH = [sys.executable, "-m", "harness.cli"]
STANDIN_MODULE = "harness.server.process"


def children(pid: int) -> set[int]:
    """The direct children of ``pid`` (Linux /proc)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found.update(int(c) for c in (task / "children").read_text().split())
        except OSError:
            continue
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    try:  # a zombie waiting for its parent's wait() has exited
        return "\nState:\tZ" not in status.read_text()
    except OSError:
        return False


def standin_children(pid: int) -> set[int]:
    return {child for child in children(pid) if STANDIN_MODULE in cmdline(child)}


def wait_gone(pid: int, timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.1)
    return False


async def test_local_target_is_another_process_that_stops_with_the_target() -> None:
    async with open_target(RunOptions(standin_in_process=False)) as resolved:
        assert resolved.builtin and resolved.pid is not None
        standin = resolved.pid
        assert standin != os.getpid()
        assert standin in standin_children(os.getpid())
        key = resolved.target.api_key.get_secret_value()
        assert key not in cmdline(standin)  # the key never shows in ps
        async with aiohttp.ClientSession() as http:  # it answers, and knows the key we were given
            url = f"{resolved.target.base_url}/realtime/client_secrets"
            for bearer, status in ((key, 200), ("sk-wrong", 401)):
                async with http.post(url, json={}, headers={"Authorization": f"Bearer {bearer}"}) as answer:
                    assert answer.status == status
    assert not alive(standin)


async def test_in_process_option_keeps_the_standin_on_this_loop() -> None:
    async with open_target(RunOptions(standin_in_process=True)) as resolved:
        assert resolved.builtin and resolved.pid == os.getpid()
        assert not standin_children(os.getpid())


# Typed turns: the session is short, and still under way for a few seconds after response.created.
SUITE = "name: typed\nturns:\n  - say: Hello there.\n  - say: Thank you very much.\n"


def start_run(tmp_path: Path) -> subprocess.Popen[str]:
    suite = tmp_path / "typed.yaml"
    suite.write_text(SUITE, encoding="utf-8")
    return subprocess.Popen(
        [*RTH, "run", str(suite), "--target", "local", "--standin", "process", "--out", str(tmp_path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def first_standin(process: subprocess.Popen[str], timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        found = standin_children(process.pid)
        if found:
            return found.pop()
        time.sleep(0.05)
    raise AssertionError(f"no {STANDIN_MODULE} child of rth run appeared")


def test_rth_run_local_uses_a_standin_process_gone_after_the_run(tmp_path: Path) -> None:
    process = start_run(tmp_path)
    try:
        standin = first_standin(process)
        _, stderr = process.communicate(timeout=240)
        assert process.returncode == 0, stderr
        assert wait_gone(standin, timeout=1), "the stand-in process outlived rth run"
    finally:
        if process.poll() is None:
            process.kill()


def test_ctrl_c_stops_the_standin_process(tmp_path: Path) -> None:
    process = start_run(tmp_path)
    try:
        standin = first_standin(process)
        timeline = tmp_path / "latest" / "timeline.jsonl"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # a session is under way
            if timeline.exists() and '"type":"response.created"' in timeline.read_text():
                break
            time.sleep(0.1)
        assert alive(standin)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 130, stderr
        assert "Traceback" not in stderr
        assert wait_gone(standin, timeout=1), "the stand-in process outlived Ctrl-C"
    finally:
        if process.poll() is None:
            process.kill()


def test_the_standin_process_stops_when_its_parent_is_killed(tmp_path: Path) -> None:
    code = (
        "import asyncio\n"
        "from harness.server import ServerConfig\n"
        "from harness.server.process import StandInProcess\n"
        "async def main():\n"
        "    async with StandInProcess(ServerConfig(port=0, asr_workers=1)) as standin:\n"
        "        print(standin.pid, flush=True)\n"
        "        await asyncio.sleep(600)\n"
        "asyncio.run(main())\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        standin = int(parent.stdout.readline())
        assert alive(standin)
        parent.kill()  # no clean-up of its own: only the end of the child's stdin tells it
        parent.wait()
        assert wait_gone(standin, timeout=20), "the stand-in process outlived its killed parent"
    finally:
        if parent.poll() is None:
            parent.kill()


def test_complete_timing_records_are_appended_as_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "timing.jsonl"
    config = ServerConfig(port=0, first_audio_delay_ms=100)
    log = TimingLog(path=path)
    timing = CallTiming(config, "rtc_1", 0, log)
    first = timing.plan(DelayKind.FIRST_AUDIO, "resp_1")
    timing.plan(DelayKind.FIRST_AUDIO, "resp_2")  # never reached: not written
    assert not path.exists()
    first.reached(since=10.0, at=10.25)
    log.close()
    lines = path.read_text().splitlines()
    assert [json.loads(line)["subject_id"] for line in lines] == ["resp_1"]
    (record,) = read_timing_log(path)
    assert (record.call_id, record.kind, record.subject_id) == ("rtc_1", DelayKind.FIRST_AUDIO, "resp_1")
    assert record.target_ms == 100 and record.actual_at == 10.25
    assert record.actual_ms == pytest.approx(250)


def test_read_timing_log_skips_a_half_written_last_line(tmp_path: Path) -> None:
    path = tmp_path / "timing.jsonl"
    line = '{"call_id":"c","kind":"first_audio","subject_id":"r","target_ms":1,"actual_ms":2,"actual_at":3}'
    path.write_text(line + "\n" + line[:20])
    assert [r.subject_id for r in read_timing_log(path)] == ["r"]
