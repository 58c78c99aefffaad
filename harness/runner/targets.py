"""Where each scenario runs: its own ``target``/``connect``/``model`` override the run's options.

A run may then talk to several targets; :class:`TargetPool` opens each one once (the local
stand-in starts once) and closes them all at the end of the run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from harness.client import ConnectMode, Target
from harness.scenario import Scenario


class PersonaHost(Protocol):
    """The built-in stand-in, as far as a scenario's ``persona`` needs it."""

    def use_persona(self, persona: Path | None) -> object: ...


@dataclass(frozen=True)
class ResolvedTarget:
    """Where to connect, and the stand-in behind it when it is ours (so a scenario can set its persona)."""

    target: Target
    standin: PersonaHost | None = None


class _Options(Protocol):
    target: str
    connect: ConnectMode
    model: str


def connect_mode(scenario: Scenario, default: ConnectMode) -> ConnectMode:
    return ConnectMode(scenario.connect) if scenario.connect else default


def model_name(scenario: Scenario, default: str) -> str:
    return scenario.model or default


class TargetPool:
    """Targets opened on first use, keyed by their ``--target`` value."""

    def __init__(
        self, options: Any, opener: Callable[[Any], AbstractAsyncContextManager[ResolvedTarget]]
    ) -> None:
        self.options = options
        self.opener = opener
        self._stack = AsyncExitStack()
        self._open: dict[str, ResolvedTarget] = {}

    async def get(self, scenario: Scenario) -> ResolvedTarget:
        name = scenario.target or self.options.target
        if name not in self._open:
            options = dataclasses.replace(self.options, target=name)
            self._open[name] = await self._stack.enter_async_context(self.opener(options))
        return self._open[name]

    async def __aenter__(self) -> TargetPool:
        await self._stack.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        return await self._stack.__aexit__(exc_type, exc, tb)
