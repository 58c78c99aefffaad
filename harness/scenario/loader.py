"""Load scenario YAML into models, with errors that name ``file:line:column``, the field and the fix.

PyYAML's node tree carries a mark (line, column) for every key and value; we keep a map from the
data path (``("turns", 0, "actions", 2)``) to its mark and look the pydantic error location up in
it. This needs the composed node tree, so we walk it once (a dozen lines) instead of bringing in a
round-trip YAML library.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from harness.errors import ScenarioError
from harness.scenario.models import Scenario

Location = tuple[int, int]  # 1-based line and column
DataPath = tuple[str | int, ...]


def _marks(node: yaml.Node, path: DataPath, out: dict[DataPath, Location]) -> None:
    out[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            _marks(value_node, (*path, key), out)
            out[(*path, key, "<key>")] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _marks(item, (*path, index), out)


def _field_name(path: Sequence[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "<document>"


def _locate(path: DataPath, marks: dict[DataPath, Location], *, at_key: bool = False) -> Location:
    """The value's mark (or the key's, for an unknown field), else its deepest existing parent."""
    if at_key and (*path, "<key>") in marks:
        return marks[(*path, "<key>")]
    for end in range(len(path), -1, -1):
        if path[:end] in marks:
            return marks[path[:end]]
    return (1, 1)


def _hint(error: ErrorDetails) -> str:
    kind = error["type"]
    if kind == "missing":
        return "add this field"
    if kind == "extra_forbidden":
        return "remove it or check the spelling (see `rth schema`)"
    return str(error["msg"])


def format_validation_errors(
    source: Path, error: ValidationError, marks: dict[DataPath, Location]
) -> list[str]:
    """One ``file:line:col: field: problem; fix`` line per error, in file order."""
    errors = error.errors()
    paths = [_strip_tags([part for part in e["loc"] if isinstance(part, str | int)]) for e in errors]
    lines: list[tuple[Location, str]] = []
    for first, path in zip(errors, paths, strict=True):
        deeper = any(other[: len(path)] == path and len(other) > len(path) for other in paths)
        if first["type"] == "too_short" and deeper:
            continue  # pydantic's echo of a failed item inside the same list
        if first["type"] == "extra_forbidden":
            message = f"unknown field '{path[-1]}': {_hint(first)}"
        elif first["type"] == "missing":
            message = f"missing required field '{path[-1]}': {_hint(first)}"
        else:
            message = _hint(first)
        line, column = _locate(path, marks, at_key=first["type"] == "extra_forbidden")
        lines.append(((line, column), f"{source}:{line}:{column}: {_field_name(path)}: {message}"))
    return [text for _, text in sorted(lines, key=lambda pair: pair[0])]


def _strip_tags(loc: list[str | int]) -> DataPath:
    """Pydantic inserts the discriminator tag after a list index; the YAML has no such level.

    ``turns.0.actions.2.wait_for.wait_for.event`` becomes ``turns[0].actions[2].wait_for.event``.
    """
    out: list[str | int] = []
    for index, part in enumerate(loc):
        previous = loc[index - 1] if index else None
        if isinstance(previous, int) and index >= 2 and loc[index - 2] == "actions":
            continue
        out.append(part)
    return tuple(out)


def load_scenario(path: Path) -> Scenario:
    """Parse and validate one scenario file; raise :class:`ScenarioError` with file:line:column."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read scenario file ({exc.strerror}); check the path") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ScenarioError(f"{where}: invalid YAML: {exc.problem}; fix the syntax") from None
    if not isinstance(data, dict) or node is None:
        raise ScenarioError(f"{path}:1:1: a scenario must be a mapping with 'name' and 'turns'")
    marks: dict[DataPath, Location] = {}
    _marks(node, (), marks)
    try:
        scenario = Scenario.model_validate({**data, "source": path})
    except ValidationError as exc:
        problems = format_validation_errors(path, exc, marks)
        more = f" (+{len(problems) - 1} more; run `rth validate`)" if len(problems) > 1 else ""
        raise ScenarioError(problems[0] + more, problems=problems) from None
    _check_audio_files(scenario, path, marks)
    return scenario


def _check_audio_files(scenario: Scenario, path: Path, marks: dict[DataPath, Location]) -> None:
    for index, turn in enumerate(scenario.turns):
        if turn.audio is None:
            continue
        resolved = resolve_audio(scenario, turn.audio)
        if not resolved.is_file():
            line, column = marks.get(("turns", index, "audio"), (1, 1))
            raise ScenarioError(
                f"{path}:{line}:{column}: turns[{index}].audio: file not found: {resolved}; "
                "paths are relative to the scenario file"
            )


def resolve_audio(scenario: Scenario, audio: Path) -> Path:
    base = scenario.source.parent if scenario.source else Path.cwd()
    return audio if audio.is_absolute() else (base / audio).resolve()


def discover(paths: Sequence[Path]) -> list[Path]:
    """Expand directories into their ``*.yaml``/``*.yml`` files (sorted); keep files as given."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml")))
        elif path.exists():
            found.append(path)
        else:
            raise ScenarioError(f"{path}: no such file or directory; pass scenario files or folders")
    if not found:
        raise ScenarioError(f"no scenario files (*.yaml) under {', '.join(map(str, paths))}")
    return found


def load_scenarios(paths: Sequence[Path]) -> list[Scenario]:
    scenarios = [load_scenario(path) for path in discover(paths)]
    seen: dict[str, Path | None] = {}
    for scenario in scenarios:
        if scenario.name in seen:
            raise ScenarioError(
                f"{scenario.source}: scenario name '{scenario.name}' is also used by {seen[scenario.name]}; "
                "names must be unique"
            )
        seen[scenario.name] = scenario.source
    return scenarios
