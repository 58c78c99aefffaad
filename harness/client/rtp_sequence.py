"""Received audio RTP by sequence number: packets lost, and packets that came out of order.

aiortc counts loss as RFC 3550 (appendix A.3) and W3C's ``packetsLost`` do: packets expected from
the *first* packet received to the highest, minus packets received. When reordering makes a
lower-numbered packet arrive after the first one, it counts as received but never as expected,
and an impaired call reads -1 lost; a duplicate does the same. A report reader wants the packets
that never came, so here the span runs from the lowest sequence number received to the highest
(extended across the 16-bit wrap), and a packet seen again counts once. Packets that arrive after
a later-numbered one are counted too: a network that reorders shows there, a late sender does not
(it still sends in order).
"""

from __future__ import annotations

from collections import deque

_MOD = 1 << 16
_HALF = 1 << 15
RECENT = 1024  # sequence numbers remembered to tell a duplicate (20 s of 20 ms packets)


class SequenceCounts:
    """Counts of one received RTP stream, fed in arrival order."""

    def __init__(self) -> None:
        self.packets = 0  # every arrival, duplicates included (W3C ``packetsReceived``)
        self.distinct = 0
        self.out_of_order = 0  # distinct packets that came after a later-numbered one
        self._highest: int | None = None  # extended sequence numbers
        self._lowest: int | None = None
        self._recent: set[int] = set()
        self._recent_order: deque[int] = deque()

    def add(self, sequence_number: int) -> None:
        self.packets += 1
        if self._highest is None or self._lowest is None:
            extended = sequence_number
            self._highest = self._lowest = extended
        else:
            step = ((sequence_number - self._highest + _HALF) % _MOD) - _HALF  # nearest to the highest
            extended = self._highest + step
            if extended in self._recent:
                return  # a duplicate
            if extended > self._highest:
                self._highest = extended
            else:
                self.out_of_order += 1
            self._lowest = min(self._lowest, extended)
        self.distinct += 1
        self._recent.add(extended)
        self._recent_order.append(extended)
        if len(self._recent_order) > RECENT:
            self._recent.discard(self._recent_order.popleft())

    @property
    def lost(self) -> int:
        """Sequence numbers between the lowest and highest received that never arrived."""
        if self._highest is None or self._lowest is None:
            return 0
        return max(0, self._highest - self._lowest + 1 - self.distinct)
