"""Which worker keeps how many users: evenly, within each node's cap, survivors only; a lost
worker's live sessions end as ``worker_lost`` once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from harness.client import ConnectMode, Target
from harness.load.host import WorkerHost
from harness.load.placement import Placement, allocate, worker_limits
from harness.load.stats import Counters, LoadStats, WorkerSnapshot
from harness.load.worker import WorkerConfig
from harness.runner.targets import ResolvedTarget


@given(
    total=st.integers(0, 300),
    limits=st.lists(st.one_of(st.none(), st.integers(0, 60)), min_size=1, max_size=8),
)
def test_users_go_as_evenly_as_the_caps_allow(total: int, limits: list[int | None]) -> None:
    shares = allocate(total, limits)
    room = None if None in limits else sum(limit or 0 for limit in limits)
    assert sum(shares) == (total if room is None else min(total, room))
    assert all(limit is None or share <= limit for share, limit in zip(shares, limits, strict=True))
    for i, share in enumerate(shares):  # one worker has 2+ more than another only if that one is full
        for j, other in enumerate(shares):
            if other >= share + 2:
                assert limits[i] == share, (i, j, shares, limits)


def test_a_node_cap_is_shared_by_the_workers_on_that_node() -> None:
    nodes = {"w0": "a", "w1": "a", "w2": "b"}
    assert worker_limits(nodes, 5) == {"w0": 3, "w1": 2, "w2": 5}
    assert worker_limits(nodes, None) == {"w0": None, "w1": None, "w2": None}


class _Host(WorkerHost):
    """A host that records what it is told (placement needs nothing else)."""

    def __init__(self, nodes: dict[str, str]) -> None:
        target = ResolvedTarget(Target("http://127.0.0.1:9/v1", "sk-test"))
        super().__init__([WorkerConfig(name, (), target, ConnectMode.UNIFIED, Path()) for name in nodes])
        self.nodes = dict(nodes)
        self.sent: list[tuple[str, str, float | None]] = []
        self.gone: list[str] = []

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    def send(self, worker: str, kind: str, value: float | None = None) -> None:
        self.sent.append((worker, kind, value))

    async def messages(self, timeout: float) -> AsyncIterator[WorkerSnapshot]:
        return
        yield

    def lost(self) -> list[str]:
        return list(self.gone)


def test_placement_sends_only_changes_and_moves_a_lost_workers_users_within_caps() -> None:
    host = _Host({"w0": "a", "w1": "a", "w2": "b"})
    placement = Placement(host, per_node=4)
    assert placement.capacity() == 8
    placement.users(6)
    caps = [("w0", "cap", 2), ("w1", "cap", 2), ("w2", "cap", 4)]
    assert sorted(host.sent) == sorted([*caps, ("w0", "users", 2), ("w1", "users", 2), ("w2", "users", 2)])
    host.sent.clear()
    placement.users(6)
    assert host.sent == []  # nothing changed, nothing sent
    host.gone.append("w1")
    placement.users(6)
    assert sorted(host.sent) == [("w0", "cap", 4), ("w0", "users", 3), ("w2", "users", 3)]
    assert placement.capacity() == 8  # w0 now holds node a's whole cap


def _snapshot(
    worker: str, elapsed: float, active: int, completed: int, *, done: bool = False
) -> WorkerSnapshot:
    counters = Counters(sessions_started=active + completed, sessions_completed=completed)
    return WorkerSnapshot(worker, "h", 1, "n", elapsed, active, 0, active, counters, {}, 0.1, 10.0, done=done)


def test_a_lost_workers_live_sessions_fail_once_as_worker_lost() -> None:
    stats = LoadStats()
    stats.add(_snapshot("w0", 1.0, active=2, completed=3))
    stats.add(_snapshot("w1", 1.0, active=2, completed=1))
    assert stats.lose("w1") == 2
    assert stats.lose("w1") == 0  # once
    counters = stats.counters
    assert counters.failures_by_kind == {"worker_lost": 2} and counters.sessions_failed == 2
    assert counters.sessions_completed == 4 and stats.active == 2
    stats.add(_snapshot("w1", 1.5, active=2, completed=1))  # a message it sent before dying
    assert stats.counters.sessions_failed == 2 and stats.active == 2
    stats.add(_snapshot("w0", 0.5, active=0, completed=2))  # a crossed reply older than the latest
    assert stats.workers["w0"].counters.sessions_completed == 3
