"""Bad scenario input as classes, with generated cases (hypothesis): whatever the file holds, loading
it gives either scenarios a run can use or problems that are one line each, naming file:line:column
and the fix; never an exception, never a traceback.

Classes: random bytes and random YAML-ish text; random values at random places of a valid scenario;
duplicate keys; alias bombs and recursive aliases; absurd numbers in every duration and gain; long
and odd names; include graphs that leave nothing to run. Derandomized and modest in examples: the
whole suite has a time budget.
"""

from __future__ import annotations

import copy
import json
import re
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.runner.plan import FILE_NAME_MAX, build_plan, file_name
from harness.runner.session_run import session_config
from harness.scenario import check
from harness.scenario.yaml_guard import MAX_VALUES

SETTINGS = settings(
    max_examples=60, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bad-input")


def problems_of(path: Path, text: str | bytes) -> list[str]:
    """Write ``text`` to ``path`` and load it; every problem must be one line naming the file."""
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    checked = check([path])  # collects problems: it must never raise for a file's content
    where = re.compile(rf"^{re.escape(str(path))}:\d+:\d+: \S")
    for problem in checked.problems:
        assert "\n" not in problem and "Traceback" not in problem, problem
        assert where.match(problem), problem
    if not checked.problems:
        runnable(checked.scenarios, path.parent)
    return checked.problems


def runnable(scenarios: list[Any], root: Path) -> None:
    """What a run does with accepted scenarios before it connects: plan, session payload, files."""
    for planned in build_plan(scenarios, 1, {"voice": ["x" * 300]}):
        json.dumps(session_config(planned.scenario))
        folder = root / "audio" / planned.instance
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(len(planned.scenario.turns)):
            (folder / f"{index:02d}-{planned.scenario.turn_label(index)}.received.wav").touch()


YAMLISH = st.text(alphabet=st.sampled_from(list("{}[]:,-&*!|>'\"#?%@` \n\tabn01.~")), max_size=120)


@SETTINGS
@given(data=st.binary(max_size=300) | YAMLISH.map(str.encode))
def test_random_bytes_as_a_scenario_file(folder: Path, data: bytes) -> None:
    problems_of(folder / "random.yaml", data)


def valid_scenario(wav: Path) -> dict[str, Any]:
    return {
        "name": "base",
        "session": {"instructions": "Be brief.", "audio": {"output": {"voice": "cedar", "speed": 1.0}}},
        "turns": [
            {
                "name": "spoken",
                "audio": {"path": str(wav), "gain_db": -3, "offset_ms": 10, "duration_ms": 900},
                "text": "what is the weather",
                "actions": [
                    "commit",
                    "create_response",
                    {"wait_for": {"event": "response.done", "timeout_ms": 9000}},
                ],
                "expect": {"max_input_wer": 0.5, "latency": {"first_audio_ms": 3000}},
            },
            {"say": "hello", "actions": [{"sleep_ms": 20}, "create_response", {"wait_for": "response.done"}]},
        ],
        "expect": {"latency": {"first_audio_ms": {"p95": 1500}}},
    }


def places(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += places(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += places(value, (*path, index))
    return found


ODD_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | st.sampled_from(["", ".", "..", "x" * 300, "response.done", "commit", "a/b", "ünïcødé ✓"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


@SETTINGS
@given(data=st.data())
def test_random_values_anywhere_in_a_scenario(
    folder: Path, audio_fixtures: Path, data: st.DataObject
) -> None:
    document = valid_scenario(audio_fixtures / "weather_paris.wav")
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(places(document)[1:]))
        parent = document
        for part in path[:-1]:
            parent = parent[part]
        parent[path[-1]] = data.draw(ODD_VALUES)
    problems_of(folder / "mutated.yaml", yaml.safe_dump(document, allow_unicode=True))


DURATIONS = [
    ("turns", 0, "audio", "offset_ms"),
    ("turns", 0, "audio", "duration_ms"),
    ("turns", 0, "actions", 2, "wait_for", "timeout_ms"),
    ("turns", 1, "actions", 0, "sleep_ms"),
    ("turns", 0, "expect", "latency", "first_audio_ms"),
    ("expect", "latency", "first_audio_ms", "p95"),
    ("turns", 0, "audio", "gain_db"),
    ("session", "audio", "output", "speed"),
]


@SETTINGS
@given(
    where=st.sampled_from(DURATIONS),
    value=st.sampled_from([float("inf"), float("-inf"), float("nan"), 10**20, -(10**20), 3_600_001, 1e300]),
)
def test_absurd_numbers_are_refused_on_their_line(
    folder: Path, audio_fixtures: Path, where: tuple[Any, ...], value: float
) -> None:
    document = valid_scenario(audio_fixtures / "weather_paris.wav")
    parent: Any = document
    for part in where[:-1]:
        parent = parent[part]
    parent[where[-1]] = value
    problems = problems_of(folder / "absurd.yaml", yaml.safe_dump(document))
    assert len(problems) == 1
    assert f"{where[-1]}:" in problems[0] or f".{where[-1]}" in problems[0]


@SETTINGS
@given(key=st.sampled_from(["name", "expect", "actions", "audio", "say", "turns"]), depth=st.integers(0, 3))
def test_a_duplicate_key_names_both_lines(folder: Path, key: str, depth: int) -> None:
    lines = ["name: dup", "turns: [{say: hi}]", "meta:"]
    lines += [f"{'  ' * (level + 1)}n{level}:" for level in range(depth)]
    indent = "  " * (depth + 1)
    lines += [f"{indent}{key}: 1", f"{indent}other: 2", f"{indent}{key}: 3"]
    first, second = len(lines) - 2, len(lines)
    (problem,) = problems_of(folder / "dup.yaml", "\n".join(lines) + "\n")
    assert f"key '{key}' appears twice in this mapping, at lines {first} and {second}" in problem
    assert problem.startswith(f"{folder / 'dup.yaml'}:{second}:")


def test_a_duplicate_key_at_the_top_is_an_error_too(folder: Path) -> None:
    (problem,) = problems_of(folder / "dup-top.yaml", "name: a\nturns: [{say: hi}]\nname: b\n")
    assert "key 'name' appears twice in this mapping, at lines 1 and 3" in problem


@settings(max_examples=25, derandomize=True, deadline=None)
@given(width=st.integers(2, 12), levels=st.integers(2, 10))
def test_alias_bombs_are_bounded(folder: Path, width: int, levels: int) -> None:
    lines = ["name: bomb", "turns: [{say: hi}]", "x0: &x0 [lol]"]
    lines += [f"x{n}: &x{n} [{', '.join([f'*x{n - 1}'] * width)}]" for n in range(1, levels + 1)]
    sizes = [2]  # the list and its scalar
    for _ in range(levels):
        sizes.append(1 + width * sizes[-1])
    problems = problems_of(folder / "bomb.yaml", "\n".join(lines) + "\n")
    alias_problems = [p for p in problems if "values through aliases (an alias bomb?)" in p]
    if sizes[-1] > MAX_VALUES:
        assert problems == alias_problems and len(problems) == 1
    elif sum(sizes) + 10 < MAX_VALUES:
        assert problems and not alias_problems  # bounded: read, then refused as unknown fields


def test_the_billion_laughs_fail_fast_in_little_memory(folder: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{','.join([f'*{previous}'] * 9)}]")
    tracemalloc.start()
    try:
        problems = problems_of(folder / "laughs.yaml", "\n".join(lines) + "\n")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000  # it took 1.4 GB (and 10 s) before the guard
    (problem,) = problems
    assert problem.startswith(f"{folder / 'laughs.yaml'}:5:4: this value expands to more than 20,000")


@SETTINGS
@given(shape=st.sampled_from(["&a [*a]", "&a {k: *a}", "&a [1, [2, *a]]", "&a {k: [{j: *a}]}"]))
def test_a_recursive_alias_is_an_error(folder: Path, shape: str) -> None:
    (problem,) = problems_of(folder / "recursive.yaml", f"name: loop\nturns: [{{say: hi}}]\nx: {shape}\n")
    assert "alias *a is used inside the value it names (a recursive alias)" in problem


@SETTINGS
@given(depth=st.integers(60, 600), opener=st.sampled_from(["[", "{a: "]))
def test_deep_nesting_is_an_error_not_a_recursion_error(folder: Path, depth: int, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    text = f"name: deep\nturns: [{{say: hi}}]\nx: {opener * depth}1{closer * depth}\n"
    problems = problems_of(folder / "deep.yaml", text)
    assert problems and ("nested deeper than 64 levels" in problems[0] or depth <= 63)


@SETTINGS
@given(name=st.text(min_size=1, max_size=400))
def test_any_name_is_refused_on_its_line_or_makes_safe_file_names(folder: Path, name: str) -> None:
    text = yaml.safe_dump({"name": name, "turns": [{"name": name, "say": "hi"}]}, allow_unicode=True)
    problems_of(folder / "named.yaml", text)


@SETTINGS
@given(text=st.text(max_size=400))
def test_file_names_are_safe_and_keep_names_apart(text: str) -> None:
    name = file_name(text)
    assert re.fullmatch(r"[A-Za-z0-9_.-]+", name) and not name.startswith(".")
    assert len(name) <= FILE_NAME_MAX
    assert file_name(text + "x") != name


@SETTINGS
@given(
    edges=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), max_size=6),
    with_scenario=st.lists(st.booleans(), min_size=4, max_size=4),
)
def test_suites_that_select_nothing_are_never_green(
    tmp_path_factory: pytest.TempPathFactory, edges: list[tuple[int, int]], with_scenario: list[bool]
) -> None:
    root = tmp_path_factory.mktemp("suites")
    includes: dict[int, list[int]] = {n: [] for n in range(4)}
    for source, target in edges:
        if target not in includes[source]:
            includes[source].append(target)
    for n in range(4):
        document: dict[str, Any] = {"suite": f"s{n}"}
        if includes[n]:
            document["include"] = [f"f{target}.yaml" for target in includes[n]]
        if with_scenario[n] or not includes[n]:
            document["scenarios"] = [{"name": f"sc{n}", "turns": [{"say": "hi"}]}]
        (root / f"f{n}.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    checked = check([root])
    assert checked.problems or checked.scenarios  # never "0 scenario(s): valid"
    for problem in checked.problems:
        assert "\n" not in problem and problem.startswith(str(root)), problem
    if any(target == source for source, target in edges):
        assert any("include cycle" in problem for problem in checked.problems)


def test_files_that_include_each_other_are_an_include_cycle_not_an_empty_run(
    tmp_path: Path, run_cli: Any
) -> None:
    (tmp_path / "a.yaml").write_text("include: [b.yaml]\n")
    (tmp_path / "b.yaml").write_text("include: [a.yaml]\n")
    result = run_cli("run", str(tmp_path), "--out", str(tmp_path / "reports"))
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert "include cycle" in line and "(+1 more; run `rth validate`)" in line
    assert not (tmp_path / "reports").exists()


def test_the_billion_laughs_file_is_one_line_in_validate(tmp_path: Path, run_cli: Any) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{','.join([f'*{previous}'] * 9)}]")
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(lines) + "\n")
    result = run_cli("validate", str(path))
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0].startswith(f"{path}:5:4: this value expands to more than 20,000")
    assert "Traceback" not in result.output


def test_a_copy_of_the_base_scenario_is_valid(folder: Path, audio_fixtures: Path) -> None:
    """The mutation tests start from a scenario that loads: their problems are the mutations'."""
    document = copy.deepcopy(valid_scenario(audio_fixtures / "weather_paris.wav"))
    assert problems_of(folder / "base.yaml", yaml.safe_dump(document)) == []


@settings(max_examples=20, derandomize=True, deadline=None)
@given(data=st.binary(max_size=200) | YAMLISH.map(str.encode), command=st.sampled_from(["validate", "run"]))
def test_the_commands_turn_any_file_into_exit_2_and_lines(
    folder: Path, run_cli: Any, data: bytes, command: str
) -> None:
    path = folder / "cli.yaml"
    path.write_bytes(data)
    extra = ["--out", str(folder / "reports")] if command == "run" else []
    result = run_cli(command, str(path), *extra)
    assert result.exit_code == 2, result.output  # random bytes are never a scenario
    assert "Traceback" not in result.output
    starts = (f"{path}:", f"rth: error: {path}:", "1 problem")
    assert all(line.startswith(starts) for line in result.stderr.splitlines()), result.stderr
