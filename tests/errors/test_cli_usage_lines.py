"""Usage problems of every kind are one ``rth: error:`` line and exit 2: option values Typer checks
(no rich panel), an unusable ``--out``, a target URL carrying credentials (refused before anything
is written, and never echoed). In process: nothing here connects."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.support.cli import Cli

SMOKE = "scenarios/smoke.yaml"


def one_line(run_cli: Cli, *args: str) -> str:
    return run_cli(*args).one_error_line(2)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", SMOKE, "--repeat", "0"], "rth run: invalid value for '--repeat'"),
        (["run", SMOKE, "--concurrency", "many"], "rth run: invalid value for '--concurrency'"),
        (["run", SMOKE, "--connect", "pigeon"], "rth run: invalid value for '--connect': 'pigeon' is not"),
        (["run", SMOKE, "--no-such-option"], "rth run: no such option: --no-such-option"),
        (["run"], "rth run: missing argument 'paths'"),
        (["load", SMOKE, "--users", "0"], "rth load: invalid value for '--users'"),
        (["load", SMOKE, "--score-sample", "2"], "rth load: invalid value for '--score-sample'"),
        (["serve", "--port", "http"], "rth serve: invalid value for '--port'"),
        (["no-such-command"], "rth: no such command 'no-such-command'"),
    ],
    ids=lambda value: " ".join(value[:3]) if isinstance(value, list) else None,
)
def test_option_errors_are_one_line_with_the_command_and_its_help(
    args: list[str], expected: str, run_cli: Cli
) -> None:
    line = one_line(run_cli, *args)
    assert expected in line
    command = expected.split(":")[0]
    assert line.endswith(f"; see '{command} --help'")


def _read_only_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    if os.access(folder, os.W_OK):  # root ignores the mode: use a filesystem that refuses writes
        if not Path("/sys/fs").is_dir():
            pytest.skip("running as root with no /sys: no read-only folder to point --out at")
        return Path("/sys/fs/rth-out")
    return folder


@pytest.mark.parametrize("command", ["run", "load"])
@pytest.mark.parametrize("kind", ["a file", "read-only"])
def test_an_unusable_out_folder_is_a_usage_error(
    command: str, kind: str, tmp_path: Path, run_cli: Cli
) -> None:
    out = tmp_path / "a-file.txt"
    out.write_text("not a folder")
    if kind == "read-only":
        out = _read_only_folder(tmp_path)
    line = one_line(run_cli, command, SMOKE, "--out", str(out))
    assert f"--out {out}: cannot write the run directory" in line and "pick a writable folder" in line


CANARY = "canary-5f1e7d0c"


@pytest.mark.parametrize("command", ["run", "load"])
@pytest.mark.parametrize(
    ("target", "problem"),
    [
        (f"https://user:{CANARY}@127.0.0.1:9/v1", "credentials in a URL are refused"),
        (f"https://{CANARY}@127.0.0.1:9/v1", "credentials in a URL are refused"),
        (f"https://127.0.0.1:9/v1?api_key={CANARY}", "takes no query string"),
        (f"https://u:a/{CANARY}?x@127.0.0.1/v1", "credentials in a URL are refused"),  # no parser reads it
    ],
)
def test_credentials_in_a_target_url_are_refused_and_never_echoed(
    command: str, target: str, problem: str, tmp_path: Path, run_cli: Cli
) -> None:
    out = tmp_path / "reports"
    result_line = one_line(run_cli, command, SMOKE, "--target", target, "--out", str(out))
    assert problem in result_line and "OPENAI_API_KEY" in result_line
    assert CANARY not in result_line
    assert not out.exists()  # refused before a run directory (which records the target) exists


def test_a_scenario_target_with_credentials_fails_validation_on_its_line(
    tmp_path: Path, run_cli: Cli
) -> None:
    scenario = tmp_path / "leaky.yaml"
    scenario.write_text(f"name: leaky\ntarget: https://me:{CANARY}@127.0.0.1/v1\nturns:\n  - say: hi\n")
    result = run_cli("validate", str(scenario))
    assert result.exit_code == 2
    assert f"{scenario}:2:9: target: " in result.output
    assert "credentials in a URL are refused" in result.output
    assert CANARY not in result.output
