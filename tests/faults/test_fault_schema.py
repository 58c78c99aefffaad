"""The fault schema both sides share: what the header carries comes back the same, bad entries are one
line naming the place, the faults file reads like a scenario file, and the packet shaper is seeded."""

from __future__ import annotations

import json
import re
import statistics
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from harness.cli._app import NetworkChoice
from harness.client import ConnectMode, Target
from harness.errors import ScenarioError
from harness.protocol import ServerEventType
from harness.protocol.faults import (
    FAULT_KINDS,
    PRESETS,
    Fault,
    HttpStatus,
    Network,
    decode_faults,
    encode_faults,
    rtp_network,
)
from harness.protocol.impairment import MAX_QUEUE_S, RtpShaper, is_rtcp
from harness.protocol.standin import ATTEMPT_HEADER, FAULTS_HEADER, encode_header_text
from harness.runner.plan import build_plan
from harness.runner.session_run import SessionDriver
from harness.runner.targets import ResolvedTarget, scenario_target
from harness.scenario import Scenario
from harness.scenario.faults import load_faults_file
from harness.timeline import Timeline

if TYPE_CHECKING:
    from tests.support.cli import Cli

FAULT = TypeAdapter(Fault)
EVENTS = st.sampled_from([str(member) for member in ServerEventType])
MS = st.floats(min_value=0, max_value=60_000, allow_nan=False)
TIMES = st.none() | st.integers(min_value=1, max_value=50)
DIRECTIONS = ["to_client", "from_client", "both"]

faults = st.one_of(
    st.builds(
        dict,
        kind=st.just("http_status"),
        status=st.integers(400, 599),
        retry_after_s=st.none() | st.floats(0, 3600),
        on=st.sampled_from(["calls", "client_secrets"]),
        times=st.integers(1, 20),
    ),
    st.builds(dict, kind=st.just("slow_answer"), ms=MS, on=st.sampled_from(["calls", "client_secrets"])),
    st.builds(dict, kind=st.sampled_from(["drop_data_channel", "drop_peer"]), after=EVENTS | MS),
    st.builds(dict, kind=st.sampled_from(["malformed_event", "unknown_event"]), after=EVENTS),
    st.builds(dict, kind=st.just("no_response_done"), times=TIMES),
    st.builds(
        dict, kind=st.just("delay"), ms=MS, events=st.none() | st.lists(EVENTS, max_size=3), times=TIMES
    ),
    st.builds(dict, kind=st.sampled_from(["duplicate", "reorder"]), events=st.none() | st.lists(EVENTS)),
    st.builds(dict, kind=st.just("rtp_loss"), percent=st.floats(0, 100), seed=st.integers(0, 2**31)),
    st.builds(
        dict,
        kind=st.just("rtp_jitter"),
        ms=st.floats(0, 5000),
        direction=st.sampled_from(["to_client", "from_client", "both"]),
    ),
    st.builds(dict, kind=st.just("rtp_rate"), kbit_s=st.floats(1, 100_000)),
    st.builds(dict, kind=st.just("network"), preset=st.sampled_from(sorted(PRESETS))),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(faults, max_size=6))
def test_a_fault_list_crosses_the_header_unchanged(entries: list[dict[str, object]]) -> None:
    parsed = tuple(FAULT.validate_python(entry) for entry in entries)
    assert decode_faults(encode_faults(parsed)) == parsed


VALUES = st.none() | st.integers(-5, 700) | st.text(max_size=12) | st.sampled_from(["\n", "a\r\nb"]) | EVENTS
ENTRIES = st.fixed_dictionaries(
    {"kind": st.sampled_from(FAULT_KINDS) | VALUES},
    optional={key: VALUES for key in ("status", "ms", "after", "percent", "times", "events", "x")},
)


@settings(max_examples=150, deadline=None)
@given(ENTRIES)
def test_any_header_value_is_a_fault_list_or_one_line_saying_why(entry: dict[str, object]) -> None:
    value = encode_header_text(json.dumps([entry]), "faults")
    try:
        decoded = decode_faults(value)
    except ValueError as exc:
        assert "\n" not in str(exc) and str(exc)
    else:
        assert len(decoded) == 1 and decoded[0].kind in FAULT_KINDS


def test_a_misspelt_event_names_the_closest_ones() -> None:
    with pytest.raises(ValidationError, match=r"did you mean response\.done"):
        FAULT.validate_python({"kind": "drop_peer", "after": "response.don"})
    with pytest.raises(ValidationError, match="after must be 0"):
        FAULT.validate_python({"kind": "drop_data_channel", "after": -5})


def test_every_preset_is_a_cli_choice_and_combines_per_direction() -> None:
    assert sorted(choice.value for choice in NetworkChoice) == sorted(PRESETS)
    parsed = tuple(
        FAULT.validate_python(entry)
        for entry in (
            {"kind": "rtp_loss", "percent": 50, "direction": "to_client"},
            {"kind": "rtp_loss", "percent": 50},
            {"kind": "rtp_rate", "kbit_s": 64, "direction": "from_client"},
            {"kind": "network", "preset": "3g", "direction": "from_client"},
        )
    )
    down, up = rtp_network(parsed, "to_client"), rtp_network(parsed, "from_client")
    assert down is not None and down.loss_percent == 75 and down.rate_kbit_s is None
    assert up is not None and up.rate_kbit_s == 64 and up.jitter_ms == PRESETS["3g"].jitter_ms
    assert rtp_network((), "to_client") is None


def test_a_scenario_takes_faults_and_a_preset_or_a_network() -> None:
    scenario = Scenario.model_validate(
        {
            "name": "s",
            "turns": [{"say": "hi"}],
            "faults": [{"kind": "no_response_done"}],
            "client_network": "edge",
        }
    )
    assert scenario.faults[0].kind == "no_response_done" and scenario.client_network == "edge"
    own = Scenario.model_validate(
        {"name": "s", "turns": [{"say": "hi"}], "client_network": {"loss_percent": 3}}
    )
    assert own.client_network == Network(loss_percent=3)


def test_the_faults_file_reports_every_problem_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "faults.yaml"
    path.write_text(
        "faults:\n"
        "  - {kind: http_status, status: 503, times: 2}\n"
        "  - kind: delay\n"
        "    ms: -1\n"
        "  - {kind: drop_peer, after: respnse.done}\n"
        "  - {kind: teleport}\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError) as info:
        load_faults_file(path)
    problems = info.value.problems
    assert len(problems) == 3 and "\n" not in str(info.value)
    assert problems[0].startswith(f"{path}:4:") and "faults[1].ms" in problems[0]
    assert problems[1].startswith(f"{path}:5:") and "did you mean response.done" in problems[1]
    assert problems[2].startswith(f"{path}:6:") and "teleport" in problems[2]
    path.write_text("- {kind: rtp_loss, percent: 5}\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"faults\.yaml:1:1: a faults file must be a mapping"):
        load_faults_file(path)
    path.write_text("faults:\n  - {kind: http_status, status: 429, on: client_secrets}\n", encoding="utf-8")
    (fault,) = load_faults_file(path)  # YAML 1.1 reads a bare `on:` as true: still the endpoint
    assert isinstance(fault, HttpStatus) and fault.on == "client_secrets"


def packets(shaper: RtpShaper, count: int, size: int = 100, gap: float = 0.02) -> list[float | None]:
    return [shaper.delay(i * gap, size) for i in range(count)]


def test_the_shaper_is_seeded_and_loses_what_it_is_asked() -> None:
    lossy = Network(loss_percent=20, jitter_ms=50, seed=7)
    first, again = packets(RtpShaper(lossy, "x"), 5000), packets(RtpShaper(lossy, "x"), 5000)
    assert first == again  # same seed, same losses and delays
    assert first != packets(RtpShaper(lossy.model_copy(update={"seed": 8}), "x"), 5000)
    lost = sum(d is None for d in first) / len(first)
    assert 0.17 < lost < 0.23  # 5000 draws: 4.5 standard deviations either side of 20 %
    delays = [d for d in first if d is not None]
    assert min(delays) >= 0 and max(delays) <= 0.05 and 0.022 < statistics.mean(delays) < 0.028


def test_a_rate_cap_queues_then_drops_what_would_wait_too_long() -> None:
    # 300-byte packets every 20 ms (~135 kbit/s with overhead) into a 64 kbit/s link.
    shaper = RtpShaper(Network(rate_kbit_s=64), "x")
    delays = packets(shaper, 500, size=300)
    kept = [d for d in delays if d is not None]
    assert max(kept) <= MAX_QUEUE_S + 0.05  # nothing waits much past the queue's limit
    assert kept[:5] == sorted(kept[:5])  # the queue builds up first
    carried = len(kept) * (300 + 38) * 8 / (500 * 0.02) / 1000
    assert 55 < carried < 66  # what gets through is the link's rate
    under = packets(RtpShaper(Network(rate_kbit_s=1000), "x"), 50, size=300)
    assert under == pytest.approx([(300 + 38) * 8 / 1_000_000] * 50)  # its transmission time, no queue


def test_rtcp_is_told_apart_from_rtp() -> None:
    assert is_rtcp(bytes([0x80, 200])) and is_rtcp(bytes([0x81, 201]))  # sender / receiver report
    assert not is_rtcp(bytes([0x80, 111])) and not is_rtcp(bytes([0x80, 0xEF]))  # Opus PT 111, marker set


@pytest.mark.parametrize(
    ("url", "builtin", "standin"),
    [
        ("http://127.0.0.1:40123/v1", True, True),  # --target local
        ("http://localhost:8089/v1", False, True),  # rth serve
        ("https://api.openai.com/v1", False, False),
        ("http://10.0.0.5:8089/v1", False, False),
    ],
)
def test_faults_travel_with_the_call_to_our_standin_only(url: str, builtin: bool, standin: bool) -> None:
    resolved = ResolvedTarget(Target(url, "sk-test", "m"), builtin=builtin)
    plain = Scenario.model_validate({"name": "plain", "turns": [{"say": "hi"}]})
    target = scenario_target(resolved, plain, "m")
    assert FAULTS_HEADER not in dict(target.call_headers)
    assert target.attempt_header == (ATTEMPT_HEADER if standin else None)
    delay = FAULT.validate_python({"kind": "delay", "ms": 5})
    faulty = plain.model_copy(update={"name": "faulty", "faults": (delay,)})
    if not standin:
        with pytest.raises(ScenarioError, match=r"'faulty' has `faults:`, which only rth's stand-in injects"):
            scenario_target(resolved, faulty, "m")
        return
    target = scenario_target(resolved, faulty, "m")
    for headers in (target.call_headers, target.secret_headers):
        assert decode_faults(dict(headers)[FAULTS_HEADER]) == faulty.faults


def test_a_bad_faults_file_stops_rth_serve_with_one_line(tmp_path: Path, run_cli: Cli) -> None:
    path = tmp_path / "faults.yaml"
    path.write_text("faults:\n  - {kind: rtp_loss, percent: 150}\n", encoding="utf-8")
    result = run_cli("serve", "--port", "0", "--faults", str(path))
    assert result.exit_code == 2 and "Traceback" not in result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"rth: error: {path}:2:") and "faults[0].percent" in line


def test_the_examples_of_the_reliability_page_load(repo_root: Path, tmp_path: Path) -> None:
    page = (repo_root / "docs" / "reliability.md").read_text(encoding="utf-8")
    (scenario,) = re.findall(r"```yaml\n(.*?)```", page, flags=re.DOTALL)
    loaded = Scenario.model_validate(yaml.safe_load(scenario))
    assert {f.kind for f in loaded.faults} == {"http_status", "delay", "rtp_loss"}
    (faults,) = re.findall(r"<<'EOF'\n(.*?)EOF", page, flags=re.DOTALL)
    path = tmp_path / "faults.yaml"
    path.write_text(faults, encoding="utf-8")
    assert [f.kind for f in load_faults_file(path)] == ["http_status", "network"]


def test_a_scenarios_client_network_wins_over_the_run_option(tmp_path: Path) -> None:
    resolved = ResolvedTarget(Target("http://127.0.0.1:8089/v1", "k"), builtin=True)
    base = {"name": "s", "turns": [{"say": "hi"}]}
    cases = [
        ({}, "3g", PRESETS["3g"]),  # rth run --client-network 3g
        ({"client_network": {"loss_percent": 3}}, "3g", Network(loss_percent=3)),
        ({"client_network": "edge"}, None, PRESETS["edge"]),
        ({}, None, None),
    ]
    for own, option, expected in cases:
        (planned,) = build_plan([Scenario.model_validate({**base, **own})])
        driver = SessionDriver(
            planned, resolved, ConnectMode.UNIFIED, Timeline("s"), tmp_path, pool=None, network=option
        )
        assert driver.network == expected


@settings(max_examples=60, deadline=None)
@given(st.lists(ENTRIES | faults, max_size=4))
def test_any_faults_file_loads_or_names_each_problem_at_a_line(entries: list[dict[str, object]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "faults.yaml"
        path.write_text(yaml.safe_dump({"faults": entries}), encoding="utf-8")
        try:
            loaded = load_faults_file(path)
        except ScenarioError as exc:
            assert all(re.match(rf"{re.escape(str(path))}:\d+:\d+: faults", p) for p in exc.problems)
            assert all("\n" not in p for p in exc.problems)
        else:
            assert len(loaded) == len(entries)
