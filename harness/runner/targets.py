"""Where each scenario runs: its own ``target``/``connect``/``model`` override the run's options.

A run may then talk to several targets; :class:`TargetPool` opens each one once (the local
stand-in starts once) and closes them all at the end of the run. :func:`scenario_target` is the
Target of one scenario's call, carrying its persona when the target is our own stand-in.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from harness.client import ConnectMode, Target
from harness.errors import ScenarioError, TargetError
from harness.protocol import PERSONA_HEADER, encode_persona
from harness.protocol.faults import encode_faults
from harness.protocol.standin import ATTEMPT_HEADER, FAULTS_HEADER
from harness.runner.options import LOCAL_TARGET, RunOptions, check_target
from harness.scenario import Scenario


@dataclass(frozen=True)
class ResolvedTarget:
    """Where to connect; ``builtin`` marks the stand-in ``--target local`` started, ``pid`` the
    process it runs in (another one unless ``RunOptions.standin_in_process``)."""

    target: Target
    builtin: bool = False
    pid: int | None = None

    @property
    def is_standin(self) -> bool:
        """Our own stand-in: the built-in one or a loopback URL (an ``rth serve``). Only these get
        stand-in extensions such as the persona header; the live API would not know them."""
        return self.builtin or self.target.is_loopback


def scenario_target(resolved: ResolvedTarget, scenario: Scenario, model: str) -> Target:
    """The Target of one scenario's call: ``model``, plus, when the target is our stand-in (never
    sent elsewhere), the scenario's persona (``X-Rth-Persona``) and faults (``X-Rth-Faults``, on
    the client secret request too) and the attempt numbers of retried requests (``X-Rth-Attempt``).

    Persona and faults travel with the call, so scenarios on one stand-in never share server
    state and may run at the same time. Raises :class:`ScenarioError` for a persona file that
    cannot be sent, or for faults asked of a target that is not our stand-in (no other server
    would inject them: the scenario would pass without its faults).
    """
    base = resolved.target
    headers = dict(base.call_headers)
    secret_headers = dict(base.secret_headers)
    if scenario.persona is not None and resolved.is_standin:
        headers[PERSONA_HEADER] = _persona_header(scenario.persona)
    if scenario.faults:
        if not resolved.is_standin:
            raise ScenarioError(
                f"scenario {scenario.name!r} has `faults:`, which only rth's stand-in injects; run it "
                f"with --target local or a loopback `rth serve` URL, not {base.base_url}"
            )
        try:
            secret_headers[FAULTS_HEADER] = headers[FAULTS_HEADER] = encode_faults(scenario.faults)
        except ValueError as exc:
            raise ScenarioError(f"scenario {scenario.name!r}: {exc}") from None
    return Target(
        base.base_url,
        base.api_key,
        model=model,
        call_headers=headers,
        secret_headers=secret_headers,
        attempt_header=ATTEMPT_HEADER if resolved.is_standin else base.attempt_header,
    )


def _persona_header(path: Path) -> str:
    try:
        return encode_persona(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read persona file: {exc.strerror}") from None
    except ValueError as exc:  # too large, or not UTF-8
        raise ScenarioError(f"{path}: {exc}") from None


class _Options(Protocol):
    target: str
    connect: ConnectMode
    model: str
    api_key: str | None


def connect_mode(scenario: Scenario, default: ConnectMode) -> ConnectMode:
    return ConnectMode(scenario.connect) if scenario.connect else default


def model_name(scenario: Scenario, default: str) -> str:
    return scenario.model or default


def remote_target(options: _Options) -> Target:
    """A URL ``--target`` with its key (``api_key`` or ``OPENAI_API_KEY``); errors say what to do."""
    check_target(options.target)
    api_key = options.api_key or os.environ.get("OPENAI_API_KEY")
    if not api_key:
        raise TargetError("OPENAI_API_KEY is not set; export it, or use --target local")
    return Target(base_url=options.target.rstrip("/"), api_key=api_key, model=options.model)


@asynccontextmanager
async def open_target(options: RunOptions) -> AsyncIterator[ResolvedTarget]:
    """Resolve ``--target``: ``local`` starts the stand-in on a free loopback port and waits until
    it is warm, so the first session's figures are not the server's start-up. It runs in a process
    of its own (its own event loop and core: its packets do not delay our stamps, nor ours its
    sends), stopped on the way out; ``options.standin_in_process`` keeps it on this loop."""
    if options.target == LOCAL_TARGET:
        from harness.server import ServerConfig, StandInServer
        from harness.server.process import StandInProcess

        key = "sk-rth-local-" + secrets.token_hex(8)
        config = ServerConfig(host="127.0.0.1", port=0, api_key=key, load=options.standin_load)
        if options.standin_in_process:
            async with StandInServer(config) as server:
                await server.warm_up()
                target = Target(base_url=server.base_url, api_key=key, model=options.model)
                yield ResolvedTarget(target, builtin=True, pid=os.getpid())
            return
        async with StandInProcess(config) as standin:
            target = Target(base_url=standin.base_url, api_key=key, model=options.model)
            yield ResolvedTarget(target, builtin=True, pid=standin.pid)
        return
    yield ResolvedTarget(remote_target(options))


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
