"""A call's audio RTP counters from aiortc's getStats: what an impaired network shows.

Both directions: what we received (``inbound-rtp``; the session replaces its counts with its
capture's own, :mod:`harness.client.rtp_sequence` and :mod:`harness.client.arrival_jitter`) and
what the far end reported of what we sent
(``remote-inbound-rtp``, from its RTCP receiver reports, which arrive about once a second, so the
last second may be missing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.protocol import SAMPLE_RATE


@dataclass
class RtpCounters:
    packets_sent: int | None = None
    packets_received: int | None = None
    packets_lost: int | None = None
    jitter_ms: float | None = None
    packets_out_of_order: int | None = None
    remote_packets_lost: int | None = None  # of the packets we sent, as the far end reported
    remote_jitter_ms: float | None = None


def _ms(rtp_units: float) -> float:
    """RFC 3550 jitter is in RTP timestamp units: 1/48000 s for Opus."""
    return round(float(rtp_units) * 1000 / SAMPLE_RATE, 3)


async def read_rtp_counters(pc: Any) -> RtpCounters:
    """The audio counters of an aiortc RTCPeerConnection."""
    counters = RtpCounters()
    for report in (await pc.getStats()).values():
        kind = getattr(report, "type", None)
        if getattr(report, "kind", None) != "audio":
            continue
        if kind == "outbound-rtp":
            counters.packets_sent = int(report.packetsSent)
        elif kind == "inbound-rtp":
            counters.packets_received = int(report.packetsReceived)
            counters.packets_lost = int(report.packetsLost)
            counters.jitter_ms = _ms(report.jitter)
        elif kind == "remote-inbound-rtp":
            counters.remote_packets_lost = int(report.packetsLost)
            counters.remote_jitter_ms = _ms(report.jitter)
    return counters
