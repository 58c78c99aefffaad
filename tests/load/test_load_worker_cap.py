"""A worker's share of its node's session cap holds in the open model: arrivals beyond it are
dropped and counted (k6's dropped iterations), never started."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from harness.client import ConnectMode, Target
from harness.load import worker as worker_module
from harness.load.worker import LoadWorker, WorkerConfig
from harness.runner.targets import ResolvedTarget
from harness.scenario import load_suite


@pytest.fixture
async def silent_target() -> AsyncIterator[str]:
    """A loopback HTTP port that accepts and never answers: every session stays connecting."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/v1"
    for writer in held:
        writer.close()
    server.close()


async def test_open_model_arrivals_beyond_the_cap_are_dropped(
    silent_target: str, short_scenario: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker_module, "STOP_GRACE_S", 0.1)  # the held sessions never end by themselves
    scenarios = tuple(load_suite([short_scenario]).scenarios)
    target = ResolvedTarget(Target(silent_target, "sk-test-not-a-key"))
    worker = LoadWorker(WorkerConfig("w0", scenarios, target, ConnectMode.UNIFIED, tmp_path))
    running = asyncio.create_task(worker.run())
    worker.command("cap", 2)
    worker.command("rate", 50)
    await asyncio.sleep(1.0)
    counters = worker.snapshot().counters
    worker.command("stop")
    await running
    assert counters.sessions_started == 2 and worker.meter.active == 0
    assert counters.sessions_dropped >= 20  # ~50 arrivals in 1 s, 2 let in
