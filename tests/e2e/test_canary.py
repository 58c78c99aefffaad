"""Keys never reach an output: a canary API key goes through ``rth serve`` (its key), ``rth run``
(both connect modes, and a wrong key), a short ``rth load`` and a target URL that tries to carry
credentials; then every file of every run directory, the timing log, and every command's stdout and
stderr are searched for it (and for any minted ``ek_`` key). Real processes, real loopback WebRTC.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.support.cli import Cli, CliResult

CANARY = "sk-canary-7d3f9b2e41c8a605"  # the stand-in's key and the run's: it must work, and never show
WRONG = "sk-canary-wrong-58e1c0d94a7b"  # a key the stand-in refuses: not echoed either
IN_URL = "canary-in-url-2b9e7f1d"
EPHEMERAL = re.compile(rb"ek_[A-Za-z0-9_\-.]{16,}")

TIMING = ("--first-audio-delay-ms", "20", "--timing-log")  # a log the stand-in writes as it serves
SUITE = """
suite: canary
scenarios:
  - name: unified
    turns: [{say: Please book a table for two., expect: {response_status: completed}}]
  - name: ephemeral
    connect: ephemeral
    turns: [{say: Thank you very much., expect: {response_status: completed}}]
"""


@dataclass
class Outputs:
    """Everything the commands wrote: their console text and the folders they wrote into."""

    texts: dict[str, str] = field(default_factory=dict)
    folders: dict[str, Path] = field(default_factory=dict)
    results: dict[str, CliResult] = field(default_factory=dict)


def start_standin(logs: Path, repo_root: Path) -> tuple[subprocess.Popen[str], str, str]:
    """``rth serve`` on a free loopback port, accepting only the canary key, with a timing log."""
    process = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "serve", "--port", "0", *TIMING, str(logs / "timing.jsonl")],
        cwd=repo_root,
        env={**os.environ, "RTH_SERVE_API_KEY": CANARY},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline()
    url = re.search(r"listening on (\S+)", first)
    if url is None:
        process.kill()
        pytest.fail(f"rth serve did not start: {first}{process.communicate()[1]}")
    return process, url.group(1), first


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory, repo_root: Path, run_cli: Cli) -> Outputs:
    root = tmp_path_factory.mktemp("canary")
    suite = root / "canary.yaml"
    suite.write_text(SUITE, encoding="utf-8")
    found = Outputs(folders={"serve": root / "serve"})
    found.folders["serve"].mkdir()
    process, url, first = start_standin(found.folders["serve"], repo_root)

    def command(name: str, *args: str, key: str = CANARY, in_subprocess: bool = True) -> None:
        out = found.folders[name] = root / name
        env = {"OPENAI_API_KEY": key}
        result = run_cli(*args, "--out", str(out), in_subprocess=in_subprocess, env=env, timeout=120)
        found.results[name] = result
        found.texts[name] = result.stdout + result.stderr

    try:
        command("run", "run", str(suite), "--target", url)
        command("wrong-key", "run", str(suite), "--target", url, key=WRONG, in_subprocess=False)
        load = ("--users", "1", "--duration", "3", "--workers", "1")
        command("load", "load", str(suite), "--target", url, *load)
        leaky = url.replace("http://", f"http://user:{IN_URL}@")
        command("url", "run", str(suite), "--target", leaky, in_subprocess=False)
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
        found.texts["serve"] = first + stdout + stderr
    return found


def test_the_canary_key_is_the_one_that_worked(outputs: Outputs) -> None:
    run = outputs.results["run"]
    assert run.exit_code == 0, run.output  # the stand-in accepts only the canary: it was sent
    load = outputs.results["load"]
    report = json.loads(next(outputs.folders["load"].glob("*/report.json")).read_text())
    assert report["load"]["sessions_started"] >= 1 and report["load"]["turns_completed"] >= 1, load.output


def test_a_refused_key_is_an_auth_error_printed_whole(outputs: Outputs) -> None:
    result = outputs.results["wrong-key"]
    assert result.exit_code == 1
    lines = [line for line in result.stdout.splitlines() if line.startswith(("unified: ", "ephemeral: "))]
    assert len(lines) == 2 and all("401" in line or "API key" in line for line in lines), result.stdout


def test_credentials_in_the_url_are_refused(outputs: Outputs) -> None:
    result = outputs.results["url"]
    assert result.exit_code == 2
    assert "credentials in a URL are refused" in result.stderr
    assert not outputs.folders["url"].exists()


@pytest.mark.parametrize("secret", [CANARY, WRONG, IN_URL])
def test_no_key_appears_in_any_output(outputs: Outputs, secret: str) -> None:
    folders = [folder for folder in outputs.folders.values() if folder.exists()]
    files = [path for folder in folders for path in folder.rglob("*") if path.is_file()]
    assert (outputs.folders["serve"] / "timing.jsonl").stat().st_size > 0
    names = {path.name for path in files}  # what is searched: every kind of output there is
    assert {"report.json", "timeline.jsonl", "junit.xml", "summary.md", "index.html", "timing.jsonl"} <= names
    assert any(name.endswith(".received.wav") for name in names)
    assert all(any(outputs.folders[name].glob("*/report.json")) for name in ("run", "wrong-key", "load"))
    leaks = [str(path) for path in files if secret.encode() in path.read_bytes()]
    leaks += [name for name, text in outputs.texts.items() if secret in text]
    assert not leaks
    minted: list[Any] = [path for path in files if EPHEMERAL.search(path.read_bytes())]
    assert not minted, "an ephemeral ek_ key was written"
