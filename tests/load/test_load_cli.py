"""`rth load` end to end over real loopback WebRTC against the built-in stand-in: two worker
processes, users looping a short scenario, merged figures, thresholds deciding the exit code."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.support.cli import Cli

    CheckLoad = Callable[[dict[str, Any], Path, int, set[str]], None]


def load(
    run_cli: Cli,
    scenario: Path,
    out: Path,
    *thresholds: str,
    users: int = 3,
    duration: int = 8,
    workers: int = 2,
    extra: tuple[str, ...] = (),
) -> tuple[int, dict[str, Any], Path]:
    args = ["load", str(scenario), "--users", str(users), "--duration", str(duration)]
    args += ["--workers", str(workers), "--out", str(out), *extra]
    for expression in thresholds:
        args += ["--threshold", expression]
    result = run_cli(*args, in_subprocess=True, timeout=180)
    assert "Traceback" not in result.stderr, result.stderr
    run_dir = (out / "latest").resolve()
    return result.exit_code, json.loads((run_dir / "report.json").read_text()), run_dir


def test_a_short_load_passes_its_thresholds(
    run_cli: Cli, short_scenario: Path, tmp_path: Path, check_short_load: CheckLoad
) -> None:
    code, report, run_dir = load(
        run_cli, short_scenario, tmp_path, "first_audio_ms:p95<5000", "error_rate<0.5", "connect_ms:p99<5000"
    )
    assert code == 0, report["load"]
    check_short_load(report, run_dir, 3, {"w0", "w1"})
    assert [t["passed"] for t in report["load"]["thresholds"]] == [True, True, True]
    assert report["load"]["ray"] is None


def test_an_impossible_threshold_exits_1_and_fails_its_junit_case(
    run_cli: Cli, short_scenario: Path, tmp_path: Path
) -> None:
    # One user for a few seconds measures a first audio: enough for a threshold nothing can meet.
    code, report, run_dir = load(
        run_cli, short_scenario, tmp_path, "first_audio_ms:p50<0.001", users=1, duration=3, workers=1
    )
    assert code == 1
    (outcome,) = report["load"]["thresholds"]
    assert outcome["passed"] is False and outcome["measured"] > 0.001
    cases = (
        ET.parse(run_dir / "junit.xml")
        .getroot()
        .findall(".//testsuite[@name='rth.load.thresholds']/testcase")
    )
    assert [case.get("name") for case in cases] == ["first_audio_ms:p50<0.001"]
    assert cases[0].find("failure") is not None


def test_a_bad_threshold_is_a_usage_error_before_anything_runs(
    run_cli: Cli, short_scenario: Path, tmp_path: Path
) -> None:
    result = run_cli("load", str(short_scenario), "--threshold", "first_audio_ms<5", "--out", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "rth: error: --threshold 'first_audio_ms<5': give an aggregate (p50, p90, p95, p99, max, mean), "
        "e.g. 'first_audio_ms:p95<1500' or 'error_rate<0.01'"
    ]


def test_sessions_a_target_refuses_are_failures_by_kind_and_not_a_hot_loop(
    run_cli: Cli, short_scenario: Path, tmp_path: Path
) -> None:
    args = ["load", str(short_scenario), "--target", "http://127.0.0.1:9/v1", "--users", "2"]
    args += ["--duration", "4", "--workers", "1", "--threshold", "error_rate<0.5", "--out", str(tmp_path)]
    env = {"OPENAI_API_KEY": "sk-dummy-nothing-listens-on-port-9"}
    result = run_cli(*args, in_subprocess=True, timeout=120, env=env)
    assert result.exit_code == 1, result.output
    figures = json.loads(((tmp_path / "latest").resolve() / "report.json").read_text())["load"]
    assert figures["sessions_failed"] == figures["sessions_started"] - figures["sessions_completed"]
    assert figures["failures_by_kind"] == {"connect": figures["sessions_failed"]}
    assert 2 <= figures["sessions_started"] <= 2 * 4 + 2  # each user pauses 1 s after a quick failure
    assert figures["error_rate"] == 1.0
    reasons = figures["failure_reasons"]
    assert sum(reasons.values()) == figures["sessions_failed"], reasons
    assert all(r.startswith("connect: ") and "127.0.0.1:9" in r for r in reasons), reasons
    assert any(line.strip().endswith(next(iter(reasons))) for line in result.stdout.splitlines())
    summary = ((tmp_path / "latest").resolve() / "summary.md").read_text()
    assert all(f"| {n} | {reason} |" in summary for reason, n in reasons.items())


def test_a_ray_cluster_cannot_reach_this_machines_loopback_target(
    run_cli: Cli, short_scenario: Path, tmp_path: Path
) -> None:
    for target in ("local", "http://127.0.0.1:8089/v1"):
        args = ["load", str(short_scenario), "--ray", "ray://head:10001", "--target", target]
        result = run_cli(*args, "--out", str(tmp_path))
        assert result.exit_code == 2
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith(f"rth: error: --ray ray://head:10001 with target {target}: the cluster")
        assert "--host 0.0.0.0" in line


def test_a_scenarios_own_target_is_where_its_sessions_call(
    run_cli: Cli, short_scenario: Path, tmp_path: Path
) -> None:
    """Users loop over two scenarios: one on the built-in stand-in, one naming its own target
    (nothing listens there). Only the second one's sessions fail, as refused connects."""
    refused = tmp_path / "refused.yaml"
    own = short_scenario.read_text().replace("short", "refused")
    refused.write_text("target: http://127.0.0.1:9/v1\n" + own)
    args = ["load", str(short_scenario), str(refused), "--users", "2", "--duration", "8", "--workers", "1"]
    result = run_cli(*args, "--out", str(tmp_path / "out"), in_subprocess=True, timeout=120,
                     env={"OPENAI_API_KEY": "sk-dummy-nothing-listens-on-port-9"})  # fmt: skip
    assert "Traceback" not in result.stderr, result.stderr
    figures = json.loads(((tmp_path / "out" / "latest").resolve() / "report.json").read_text())["load"]
    assert figures["sessions_completed"] >= 1, figures
    assert figures["failures_by_kind"] == {"connect": figures["sessions_failed"]}
    assert figures["sessions_failed"] >= 1


def test_client_network_impairs_what_every_session_sends(
    run_cli: Cli, short_scenario: Path, tmp_path: Path
) -> None:
    """--client-network lossy-wifi (5 % loss): the stand-in's receiver reports count the loss, on
    the load path (pre-encoded Opus) as on the sampled ones (check_short_load: a clean run, none)."""
    code, report, _ = load(
        run_cli, short_scenario, tmp_path, users=2, workers=1, extra=("--client-network", "lossy-wifi")
    )
    assert code == 0
    figures = report["load"]
    assert report["config"]["client_network"] == "lossy-wifi"
    assert figures["sessions_completed"] >= 2 and figures["packets_sent"] > 300
    assert 0 < figures["remote_packets_lost"] < 0.15 * figures["packets_sent"], figures


def test_a_session_running_when_the_duration_ends_finishes_in_its_graceful_stop(
    run_cli: Cli, short_scenario: Path, tmp_path: Path
) -> None:
    """k6's gracefulStop: a ~4 s session still running when a 2 s run ends completes within the
    default grace; with ``--graceful-stop 0`` it is cut, counted as neither completed nor failed."""
    figures = {}
    for grace in ("0", "30"):
        extra = ("--graceful-stop", grace)
        _, report, _ = load(
            run_cli, short_scenario, tmp_path / grace, users=1, duration=2, workers=1, extra=extra
        )
        figures[grace] = report["load"]
    cut, finished = figures["0"], figures["30"]
    assert (cut["sessions_started"], cut["sessions_completed"], cut["sessions_failed"]) == (1, 0, 0), cut
    assert (finished["sessions_started"], finished["sessions_completed"]) == (1, 1), finished
    assert (cut["graceful_stop_s"], finished["graceful_stop_s"]) == (0, 30)
