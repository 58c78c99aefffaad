"""A PyYAML SafeLoader for files people write by hand: legal YAML that would silently hurt is refused.

* A **duplicate key** keeps only its last value in YAML, so a repeated ``expect:`` would drop the
  first block and its checks with it: an error naming both lines.
* An **alias** (``*name``) is a reference, cheap to parse but expanded by everything that walks
  the data afterwards. The nodes a document expands to are counted as it is composed, so a
  "billion laughs" file fails on the line that crosses :data:`MAX_VALUES`, in milliseconds, and an
  alias inside the value it names (recursion) fails on the alias.
* **Nesting** deeper than :data:`MAX_DEPTH` (counting through aliases) is refused before
  Python's recursion limit turns it into a traceback.
* A scalar the constructor cannot turn into a value (``2024-02-30`` read as a date, an integer of
  5,000 digits) is an error on its line instead of a ``ValueError`` from deep inside PyYAML.

The checks hook PyYAML's composer and constructor (``compose_node``, ``construct_object``); the
parser itself is PyYAML's. Errors are :class:`GuardError` (a ``MarkedYAMLError``) whose problem
reads as a whole message with its fix.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from harness.errors import HarnessError

MAX_VALUES = 20_000  # nodes a document may expand to; committed suites have ~200
MAX_DEPTH = 64  # nesting levels; a scenario needs about 10 (a raw `send` event a few more)
MERGE_TAG = "tag:yaml.org,2002:merge"


class GuardError(yaml.MarkedYAMLError, HarnessError):
    """A legal YAML document the scenario loader refuses; ``problem`` is the message with its fix.
    A ``MarkedYAMLError`` so that it leaves PyYAML as its own errors do (the loader turns it into
    a :class:`~harness.errors.ScenarioError`)."""

    def __init__(self, problem: str, mark: yaml.Mark | None) -> None:
        super().__init__(problem=problem, problem_mark=mark)


class GuardedLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` with the checks above; use it as ``yaml.SafeLoader`` is used."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._sizes: dict[int, tuple[int, int]] = {}  # id(node) -> (values, height) once composed
        self._depth = 0
        self._composed = 0  # nodes as written, aliases counted once

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        if self.check_event(yaml.AliasEvent):
            event = self._next_event()
            target = self.anchors.get(event.anchor)
            if target is not None and id(target) not in self._sizes:
                raise GuardError(
                    f"alias *{event.anchor} is used inside the value it names (a recursive alias); "
                    "refer to a value defined before, outside it",
                    event.start_mark,
                )
            alias = super().compose_node(parent, index)
            assert alias is not None
            return alias
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise GuardError(
                    f"nested deeper than {MAX_DEPTH} levels; flatten the structure",
                    self._next_event().start_mark,
                )
            composed = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        assert composed is not None  # compose_node is only called with an event to compose
        node: Node = composed
        self._composed += 1
        self._measure(node)
        if isinstance(node, MappingNode):
            self._refuse_duplicate_keys(node)
        return node

    def _next_event(self) -> Any:
        return self.peek_event()  # type: ignore[no-untyped-call]  # untyped in types-PyYAML

    def _measure(self, node: Node) -> None:
        """Values and height of ``node`` with aliases expanded, from its children's (known by now)."""
        children: list[Node] = []
        if isinstance(node, SequenceNode):
            children = list(node.value)
        elif isinstance(node, MappingNode):
            children = [part for pair in node.value for part in pair]
        sized = [self._sizes[id(child)] for child in children]
        values = 1 + sum(size for size, _ in sized)
        height = 1 + max((h for _, h in sized), default=0)
        self._sizes[id(node)] = (values, height)
        if values > MAX_VALUES:
            what = (
                f"holds more than {MAX_VALUES:,} values; split it into several files"
                if self._composed > MAX_VALUES
                else f"expands to more than {MAX_VALUES:,} values through aliases (an alias bomb?); "
                "write the values out or use fewer aliases"
            )
            raise GuardError(f"this value {what}", node.start_mark)
        if height > MAX_DEPTH:
            raise GuardError(
                f"nested deeper than {MAX_DEPTH} levels through aliases; use fewer nested aliases",
                node.start_mark,
            )

    def _refuse_duplicate_keys(self, node: MappingNode) -> None:
        seen: dict[Any, Node] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag == MERGE_TAG:
                continue
            key = self.construct_object(key_node)  # as YAML compares keys: `yes` and `true` collide
            first = seen.setdefault(key, key_node)
            if first is not key_node:
                raise GuardError(
                    f"key '{key_node.value}' appears twice in this mapping, at lines "
                    f"{first.start_mark.line + 1} and {key_node.start_mark.line + 1} (YAML would keep only "
                    "the last); keep one",
                    key_node.start_mark,
                )

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except yaml.YAMLError:
            raise
        except (ValueError, OverflowError, TypeError) as exc:
            raise GuardError(
                f"cannot read this value ({exc}); quote it to keep it as text", node.start_mark
            ) from None
