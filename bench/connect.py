"""Connect cost on loopback: a full rth session against the stand-in vs a bare aiortc pair.

Why: connect time is the first figure users see and a floor for load tests. The bare pair (two
RTCPeerConnections exchanging SDP in-process, audio + data channel) is the floor aiortc sets;
the ratio says what our HTTP exchange, session.created/updated round trips and server add.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from aiortc import RTCPeerConnection
from aiortc.mediastreams import AudioStreamTrack

from harness.client import ConnectMode, RealtimeSession, Target
from harness.ice import loopback_only, rtc_configuration
from harness.metrics import connect_latency
from harness.server import ServerConfig, StandInServer
from harness.timeline import Timeline

KEY = "sk-bench"
SESSION = {"type": "realtime", "audio": {"input": {"turn_detection": None}}}


async def bare_pair() -> float:
    """Seconds from offer creation to the data channel being open on both sides."""
    start = time.monotonic()
    with loopback_only():
        caller, callee = RTCPeerConnection(rtc_configuration()), RTCPeerConnection(rtc_configuration())
        opened = asyncio.get_running_loop().create_future()
        caller.addTrack(AudioStreamTrack())
        channel = caller.createDataChannel("oai-events")
        channel.on("open", lambda: opened.done() or opened.set_result(None))

        @callee.on("track")
        def _on_track(track: object) -> None:
            callee.addTrack(AudioStreamTrack())

        await caller.setLocalDescription(await caller.createOffer())
        await callee.setRemoteDescription(caller.localDescription)
        await callee.setLocalDescription(await callee.createAnswer())
        await caller.setRemoteDescription(callee.localDescription)
        await opened
    elapsed = time.monotonic() - start
    await caller.close()
    await callee.close()
    return elapsed


async def rth_session(target: Target, mode: ConnectMode) -> dict[str, float | None]:
    timeline = Timeline("bench")
    session = await RealtimeSession.connect(target, timeline=timeline, session_config=SESSION, mode=mode)
    await session.close()
    return connect_latency(timeline.entries)


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(values):7.1f} ms  p95 {p95:7.1f} ms"


async def main(calls: int) -> None:
    bare = [1000 * await bare_pair() for _ in range(calls)]
    async with StandInServer(ServerConfig(host="127.0.0.1", port=0, api_key=KEY)) as server:
        target = Target(server.base_url, KEY)
        await rth_session(target, ConnectMode.UNIFIED)  # warm-up: imports, validators, ASR workers
        results = {mode: [await rth_session(target, mode) for _ in range(calls)] for mode in ConnectMode}
    print(f"bare aiortc pair, channel open      {summary(bare)}   (x1.00)")
    floor = statistics.median(bare)
    for mode, runs in results.items():
        total = [r["connect_total_ms"] for r in runs if r["connect_total_ms"] is not None]
        ratio = statistics.median(total) / floor
        print(f"rth {mode.value:9s} session ready      {summary(total)}   (x{ratio:.2f})")
        for phase in (
            "connect_client_secret_ms",
            "connect_sdp_exchange_ms",
            "connect_peer_ms",
            "connect_channel_open_ms",
            "connect_session_ready_ms",
        ):
            values = [v for r in runs if (v := r.get(phase)) is not None]
            if values:
                print(f"    {phase:28s} {summary(values)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=20)
    asyncio.run(main(parser.parse_args().calls))
