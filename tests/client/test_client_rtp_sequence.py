"""Loss and reordering of received RTP by sequence number (harness.client.rtp_sequence): what never
came, counted from the lowest sequence number received to the highest, never negative; and what
came after a later-numbered packet."""

from __future__ import annotations

import random
from unittest import mock

from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtp import RtpPacket
from hypothesis import given
from hypothesis import strategies as st

from harness.client.rtp_sequence import SequenceCounts
from harness.protocol import SAMPLE_RATE


@given(
    st.lists(st.integers(0, 199), min_size=1, max_size=300),
    st.integers(0, 65535),
)
def test_counts_match_a_plain_reading_of_the_arrivals(arrivals: list[int], first: int) -> None:
    """Any arrival order, repeats and gaps, across the sequence wrap: lost is the numbers missing
    between the lowest and highest that came, out of order the distinct ones that came after a
    higher one, and every arrival is a packet."""
    counts = SequenceCounts()
    for index in arrivals:
        counts.add((first + index) % 65536)
    distinct = set(arrivals)
    assert counts.packets == len(arrivals)
    assert counts.distinct == len(distinct)
    assert counts.lost == (max(distinct) - min(distinct) + 1) - len(distinct) >= 0
    seen: set[int] = set()
    late = 0
    for index in arrivals:
        if index not in seen:
            late += bool(seen) and index < max(seen)
            seen.add(index)
    assert counts.out_of_order == late


def test_in_order_with_gaps_agrees_with_aiortc() -> None:
    ours, theirs = SequenceCounts(), StreamStatistics(SAMPLE_RATE)
    for n in (k for k in range(65000, 65536 + 600) if k % 11 != 4):
        packet = RtpPacket(sequence_number=n % 65536, timestamp=960 * n % (1 << 32))
        ours.add(packet.sequence_number)
        with mock.patch("aiortc.rtcrtpreceiver.time.time", return_value=n * 0.02):
            theirs.add(packet)
    assert (ours.packets, ours.lost, ours.out_of_order) == (theirs.packets_received, theirs.packets_lost, 0)


def test_a_reordered_start_reads_no_negative_loss_where_aiortc_reads_minus_one() -> None:
    """What an impaired call showed: the second packet arrived first, so aiortc's base was 1."""
    ours, theirs = SequenceCounts(), StreamStatistics(SAMPLE_RATE)
    for n in [1, 0, *range(2, 50)]:
        ours.add(n)
        theirs.add(RtpPacket(sequence_number=n, timestamp=960 * n))
    assert theirs.packets_lost == -1
    assert (ours.lost, ours.out_of_order) == (0, 1)


def test_uniform_delays_ten_times_the_spacing_reorder_about_half() -> None:
    """Delays uniform on 0..200 ms at 20 ms spacing (the rtp_jitter fault): about 55 % of the
    packets arrive after a later-numbered one; nothing is lost."""
    rng = random.Random(1)
    arriving = sorted(range(3000), key=lambda n: n * 0.02 + rng.uniform(0, 0.2))
    counts = SequenceCounts()
    for n in arriving:
        counts.add(n % 65536)
    assert 0.4 < counts.out_of_order / 3000 < 0.7 and counts.lost == 0
