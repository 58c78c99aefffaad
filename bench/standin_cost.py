"""CPU of the stand-in per live session: normal mode vs load mode (``rth serve --load``), side by side.

Why: ``rth load`` runs hundreds of sessions per client core, so the stand-in must cost no more per
session than the client does. Two stand-ins run at once (each ``rth serve`` in its own process,
one normal, one ``--load``), each driven by its own client process holding N live sessions. Every
session sends 50 Opus packets/s (pre-encoded silence) and loops push-to-talk turns: commit,
response.create, wait for output_audio_buffer.stopped. The session asks for no transcription
and the persona's reply needs no words, the load test's usual setup; ``--vad`` uses server_vad
turns instead (load mode then decodes for VAD). Measured: CPU seconds of each stand-in process
(and of its ASR workers) over the same window, from /proc. Printed: % of a core per session in
each mode and the ratio normal / load.

    .venv/bin/python bench/standin_cost.py --sessions 10 --seconds 30
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import aiohttp
import av
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from harness.ice import loopback_only, rtc_configuration
from harness.server.audio_in import InputAudioBuffer, drain
from harness.server.decode_gate import install_decode_gate
from harness.server.opus_replies import silence_packet

KEY = "sk-bench"
PERSONA = "name: bench\nfallback: Sure, I can help you with that right away.\n"
TICKS = os.sysconf("SC_CLK_TCK")


class SilenceTrack(MediaStreamTrack):
    """50 pre-encoded silent Opus packets per second: the client's share stays small."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._start: float | None = None
        self._pts = 0

    async def recv(self) -> av.Packet[Any]:
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self._pts / 48000 - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        packet = av.Packet(silence_packet())
        packet.pts, packet.time_base = self._pts, Fraction(1, 48000)
        self._pts += 960
        return packet


async def session(base_url: str, vad: bool, replies: list[float]) -> None:
    """One live call looping turns until cancelled; notes when each reply finished playing."""
    with loopback_only():
        pc = RTCPeerConnection(rtc_configuration())
        pc.addTransceiver(SilenceTrack(), direction="sendrecv")
        channel = pc.createDataChannel("oai-events")
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        drains: set[asyncio.Future[None]] = set()
        channel.on("message", lambda m: inbox.put_nowait(json.loads(m)))

        @pc.on("track")
        def _on_track(track: MediaStreamTrack) -> None:  # consumed without decoding (client's CPU)
            receiver = next(r for r in pc.getReceivers() if r.track is track)
            sink = InputAudioBuffer(1)
            sink.decode = False
            install_decode_gate(receiver, sink)
            drains.add(asyncio.ensure_future(drain(track)))

        await pc.setLocalDescription(await pc.createOffer())
        headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/sdp"}
        async with aiohttp.ClientSession() as http:
            async with http.post(
                f"{base_url}/realtime/calls", data=pc.localDescription.sdp, headers=headers
            ) as r:
                answer = await r.text()
            await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    try:
        await wait_for(inbox, "session.created")
        detection = {"type": "server_vad"} if vad else None
        update = {
            "type": "realtime",
            "audio": {"input": {"turn_detection": detection, "transcription": None}},
        }
        channel.send(json.dumps({"type": "session.update", "session": update}))
        await wait_for(inbox, "session.updated")
        await asyncio.sleep(0.2)  # the first commit needs 100 ms of audio
        while True:
            if vad:  # no speech: typed turns, so server_vad still decodes every frame
                item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
                channel.send(json.dumps({"type": "conversation.item.create", "item": item}))
            else:
                channel.send(json.dumps({"type": "input_audio_buffer.commit"}))
            channel.send(json.dumps({"type": "response.create"}))
            await wait_for(inbox, "output_audio_buffer.stopped")
            replies.append(time.monotonic())
    finally:
        await pc.close()


async def wait_for(inbox: asyncio.Queue[dict[str, Any]], type_: str) -> None:
    while (await inbox.get())["type"] != type_:
        pass


async def client_main(base_url: str, sessions: int, warm_up: float, seconds: float, vad: bool) -> None:
    """Client process: N sessions; prints the replies finished in the measured window."""
    replies: list[float] = []
    tasks = [asyncio.create_task(session(base_url, vad, replies)) for _ in range(sessions)]
    start = time.monotonic() + warm_up
    await asyncio.sleep(warm_up + seconds)
    in_window = sum(1 for at in replies if at >= start)
    print(json.dumps({"replies": in_window, "failed": sum(t.done() for t in tasks)}), flush=True)
    for task in tasks:
        task.cancel()
    await asyncio.wait(tasks, timeout=10)
    os._exit(0)  # whatever aiortc still tears down, the figures are out


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads); 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def asr_workers(pid: int) -> list[int]:
    """The stand-in's recognition processes (not the short-lived flite runs)."""
    found = [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return [p for p in found if "asr_worker" in Path(f"/proc/{p}/cmdline").read_text()]


def start_server(load: bool, persona: Path) -> tuple[subprocess.Popen[str], str]:
    """``rth serve`` (``--load``) in its own process on a free port; its base URL."""
    code = (
        "from pathlib import Path; from harness.server import ServerConfig, serve; "
        f"serve(ServerConfig(port=0, api_key={KEY!r}, load={load}, persona=Path({str(persona)!r})))"
    )
    server = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    line = server.stdout.readline()
    assert "listening on " in line, line
    return server, line.split("listening on ")[1].strip()


def start_client(url: str, args: argparse.Namespace) -> subprocess.Popen[str]:
    options = [
        "--sessions",
        str(args.sessions),
        "--warm-up",
        str(args.warm_up),
        "--seconds",
        str(args.seconds),
    ]
    command = [sys.executable, __file__, *options, *(["--vad"] if args.vad else []), "--client", url]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=10, help="live sessions per stand-in")
    parser.add_argument("--seconds", type=float, default=30.0, help="measured window")
    parser.add_argument("--warm-up", type=float, default=10.0, help="seconds before measuring")
    parser.add_argument("--vad", action="store_true", help="server_vad sessions (typed turns)")
    parser.add_argument("--client", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        asyncio.run(client_main(args.client, args.sessions, args.warm_up, args.seconds, args.vad))
        return
    persona = Path(tempfile.mkdtemp(prefix="rth-bench-")) / "persona.yaml"
    persona.write_text(PERSONA)
    modes = ("normal", "load")
    servers = {mode: start_server(mode == "load", persona) for mode in modes}
    clients = {mode: start_client(servers[mode][1], args) for mode in modes}
    try:
        time.sleep(args.warm_up)
        pids = {mode: [server.pid, *asr_workers(server.pid)] for mode, (server, _) in servers.items()}
        before = {mode: [cpu_seconds(p) for p in ps] for mode, ps in pids.items()}
        started = time.monotonic()
        time.sleep(args.seconds)
        wall = time.monotonic() - started
        after = {mode: [cpu_seconds(p) for p in ps] for mode, ps in pids.items()}
        counts = {
            mode: json.loads(c.communicate(timeout=60)[0].splitlines()[0]) for mode, c in clients.items()
        }
    finally:
        for process in [*clients.values(), *(server for server, _ in servers.values())]:
            if process.poll() is None:
                process.terminate()
                process.wait(10)
    turn_kind = "server_vad, typed turns" if args.vad else "push-to-talk, no transcription"
    print(f"{args.sessions} live sessions per stand-in, {wall:.0f} s window, {turn_kind}")
    per_session: dict[str, float] = {}
    process_only: dict[str, float] = {}
    for mode in modes:
        main_pct = (after[mode][0] - before[mode][0]) / wall * 100
        asr_pct = sum(a - b for a, b in zip(after[mode][1:], before[mode][1:], strict=True)) / wall * 100
        per_session[mode] = (main_pct + asr_pct) / args.sessions
        process_only[mode] = main_pct
        failed = f", {counts[mode]['failed']} sessions failed" if counts[mode]["failed"] else ""
        print(
            f"  {mode:6} stand-in {main_pct:5.1f}% + ASR workers {asr_pct:4.1f}% of a core = "
            f"{per_session[mode]:.2f}% per session; {counts[mode]['replies']} replies in the window{failed}"
        )
    ratio = per_session["normal"] / per_session["load"]
    print(
        f"  normal / load CPU per session: {ratio:.1f}x with ASR workers, "
        f"{process_only['normal'] / process_only['load']:.1f}x the server process alone; sessions per "
        f"core at this cost: normal {100 / per_session['normal']:.0f}, load {100 / per_session['load']:.0f}"
    )


if __name__ == "__main__":
    main()
