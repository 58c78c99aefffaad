"""Load scenario and suite YAML into models, with errors that name ``file:line:column``, the
field and the fix.

PyYAML's node tree carries a mark (line, column) for every key and value; we keep a map from the
data path (``("turns", 0, "actions", 2)``) to its mark and look each pydantic error location up in
it. The parser is :class:`~harness.scenario.yaml_guard.GuardedLoader`: duplicate keys, alias
bombs and recursion, deep nesting and unreadable scalars are errors on their line. Suites
(``scenarios:``/``include:``) are expanded in :mod:`harness.scenario.compose`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from harness.errors import ScenarioError
from harness.scenario.yaml_guard import GuardedLoader, GuardError

Location = tuple[int, int]  # 1-based line and column
DataPath = tuple[str | int, ...]
KEY = "<key>"  # marks[(*path, KEY)] is where the key of the mapping entry at `path` starts


@dataclass(frozen=True)
class YamlDocument:
    path: Path
    data: dict[str, Any]
    marks: dict[DataPath, Location]

    def where(self, path: DataPath, *, at_key: bool = False) -> str:
        """``file:line:column`` of the value at ``path`` (its key with ``at_key``), else of its
        deepest existing parent."""
        line, column = _locate(path, self.marks, at_key=at_key)
        return f"{self.path}:{line}:{column}"


def _marks(node: yaml.Node, path: DataPath, out: dict[DataPath, Location]) -> None:
    out[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            _marks(value_node, (*path, key), out)
            out[(*path, key, KEY)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _marks(item, (*path, index), out)


SCENARIO_MAPPING = (
    "a scenario file must be a mapping with 'name' and 'turns' (or a suite with 'scenarios'/'include')"
)


def read_yaml(path: Path, *, mapping: str = SCENARIO_MAPPING) -> YamlDocument:
    """Parse one file; raise :class:`ScenarioError` naming the line for syntax errors, and saying
    ``mapping`` (what the file should hold) when it is not a mapping."""
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read scenario file ({exc.strerror}); check the path") from None
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - raw.rfind(b"\n", 0, exc.start)
        raise ScenarioError(
            f"{path}:{line}:{column}: byte {exc.start} is not UTF-8; save the file as UTF-8"
        ) from None
    try:
        loader = GuardedLoader(text)  # one parse (as yaml.safe_load): the node tree for the marks, its data
        try:
            node = loader.get_single_node()
            data = None if node is None else loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        if isinstance(exc, GuardError):
            raise ScenarioError(f"{where}: {exc.problem}") from None
        raise ScenarioError(f"{where}: invalid YAML: {exc.problem}; fix the syntax") from None
    except yaml.reader.ReaderError as exc:  # a control character: the reader has no line marks
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - text.rfind("\n", 0, exc.position)
        raise ScenarioError(
            f"{path}:{line}:{column}: invalid YAML: character #x{exc.character:04x} is not allowed; remove it"
        ) from None
    except yaml.YAMLError as exc:  # anything else PyYAML refuses, without a mark
        raise ScenarioError(f"{path}: invalid YAML: {' '.join(str(exc).split())}; fix the syntax") from None
    if not isinstance(data, dict) or node is None:
        raise ScenarioError(f"{path}:1:1: {mapping}")
    marks: dict[DataPath, Location] = {}
    _marks(node, (), marks)
    return YamlDocument(path=path, data=data, marks=marks)


def field_name(path: Sequence[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "<document>"


def _locate(path: DataPath, marks: dict[DataPath, Location], *, at_key: bool = False) -> Location:
    if at_key and (*path, KEY) in marks:
        return marks[(*path, KEY)]
    for end in range(len(path), -1, -1):
        if path[:end] in marks:
            return marks[path[:end]]
    return (1, 1)


def _has(node: Any, part: str | int) -> bool:
    if isinstance(part, int):
        return isinstance(node, list) and part < len(node)
    return isinstance(node, dict) and part in node


def _data_path(loc: Sequence[str | int], data: Any, kind: str) -> DataPath:
    """The pydantic error location as a path into the YAML data.

    Pydantic adds levels the file does not have: the tag of a tagged union (an action's name, a
    turn_detection's type), a union member's type, ``[key]`` for a bad mapping key. Any level that
    is not in the data is dropped, except the last of a ``missing`` error (the absent field).
    """
    out: list[str | int] = []
    node = data
    for index, part in enumerate(loc):
        if _has(node, part):
            out.append(part)
            node = node[part]
        elif kind == "missing" and index == len(loc) - 1:
            out.append(part)
    return tuple(out)


def _message(error: ErrorDetails, path: DataPath) -> str:
    kind = error["type"]
    last = path[-1] if path else "<document>"
    if kind == "missing":
        return f"missing required field '{last}': add this field"
    if kind == "extra_forbidden":
        return f"unknown field '{last}': remove it or check the spelling (see `rth schema`)"
    message = str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    fix = _FIXES.get(kind)
    duration = any(str(part).endswith("_ms") or part == "latency" for part in path)
    if kind in ("less_than", "less_than_equal") and duration:
        fix = "durations are milliseconds, at most an hour (3600000)"
    if fix and ";" not in message:
        message = f"{message}; {fix}"
    if "[key]" in error["loc"]:
        return f"invalid key '{last}': {message}"
    return message


# The fix for pydantic's errors that name the problem only (bounds say theirs).
_FIXES = {
    "string_too_long": "shorten it",
    "string_pattern_mismatch": "use only letters, digits, '_', '.' and '-'",
    "finite_number": "write a finite number",
}


def format_validation_errors(
    document: YamlDocument, error: ValidationError, prefix: DataPath = ()
) -> list[str]:
    """One ``file:line:col: field: problem; fix`` line per error, in file order.

    ``prefix`` is where the validated data sits in the file (a suite's ``("scenarios", 2)``).
    """
    root: Any = document.data
    for part in prefix:
        root = root[part]
    errors = error.errors()
    located = [(e, (*prefix, *_data_path(e["loc"], root, e["type"]))) for e in errors]
    lines: list[tuple[Location, str]] = []
    for details, path in located:
        deeper = any(other[: len(path)] == path and len(other) > len(path) for _, other in located)
        if details["type"] in ("too_short", "union_tag_invalid") and deeper:
            continue  # an echo of an error reported deeper inside the same item
        at_key = details["type"] == "extra_forbidden" or "[key]" in details["loc"]
        location = _locate(path, document.marks, at_key=at_key)
        problem = " ".join(_message(details, path).split())  # one line, whatever the input echoed
        text = f"{document.path}:{location[0]}:{location[1]}: {field_name(path)}: {problem}"
        lines.append((location, text))
    unique = dict.fromkeys(text for _, text in sorted(lines, key=lambda pair: pair[0]))
    return list(unique)


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
    return list(dict.fromkeys(found))
