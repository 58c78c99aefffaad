"""Which worker keeps how many users: evenly, within each node's session cap, survivors only.

Only the driver knows the schedule; it tells each live worker its share (``users`` or ``rate``)
and, with ``--max-sessions-per-node``, its share of its node's cap (``cap``), whenever one
changes. A lost worker's users go to the others (within their caps): the run goes on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from harness.load.host import WorkerHost


def spread(total: int, workers: int) -> list[int]:
    """``total`` users over ``workers`` as evenly as possible (the first ones take the remainder)."""
    return [total // workers + (1 if index < total % workers else 0) for index in range(workers)]


def allocate(total: int, limits: Sequence[int | None]) -> list[int]:
    """``total`` over workers as evenly as possible, none above its limit (None: no limit);
    what no worker has room for is left out. Max-min fair: the most limited workers are filled
    first, each to its limit or an even share of what is left, whichever is less."""
    shares = [0] * len(limits)
    order = sorted(range(len(limits)), key=lambda i: (limits[i] is None, limits[i] or 0))
    left = total
    for position, index in enumerate(order):
        even = -(-left // (len(order) - position))  # ceiling: the remainder goes first
        limit = limits[index]
        shares[index] = even if limit is None else min(limit, even)
        left -= shares[index]
    return shares


def worker_limits(nodes: Mapping[str, str], per_node: int | None) -> dict[str, int | None]:
    """Each worker's share of its node's session cap (None without a cap)."""
    if per_node is None:
        return dict.fromkeys(nodes)
    by_node: dict[str, list[str]] = {}
    for worker, node in nodes.items():
        by_node.setdefault(node, []).append(worker)
    limits: dict[str, int | None] = {}
    for members in by_node.values():
        limits.update(zip(members, spread(per_node, len(members)), strict=True))
    return limits


class Placement:
    """Tells the live workers their shares, sending only what changed."""

    def __init__(self, workers: WorkerHost, per_node: int | None) -> None:
        self.workers = workers
        self.per_node = per_node
        self._sent: dict[tuple[str, str], float | None] = {}

    def _limits(self) -> dict[str, int | None]:
        return worker_limits({w: self.workers.nodes[w] for w in self.workers.alive()}, self.per_node)

    def capacity(self) -> int | None:
        """Sessions the live workers may hold at once (None: no cap)."""
        if self.per_node is None:
            return None
        return len({self.workers.nodes[w] for w in self.workers.alive()}) * self.per_node

    def _tell(self, worker: str, kind: str, value: float | None) -> None:
        if self._sent.get((worker, kind), -1.0) != value:
            self.workers.send(worker, kind, value)
            self._sent[(worker, kind)] = value

    def _caps(self) -> dict[str, int | None]:
        limits = self._limits()
        if self.per_node is not None:
            for worker, limit in limits.items():
                self._tell(worker, "cap", limit)
        return limits

    def users(self, total: int) -> None:
        limits = self._caps()
        for worker, share in zip(limits, allocate(total, list(limits.values())), strict=True):
            self._tell(worker, "users", share)

    def rate(self, total: float) -> None:
        limits = self._caps()
        for worker in limits:
            self._tell(worker, "rate", total / len(limits))  # none left: nothing to tell
