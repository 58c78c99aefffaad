"""A Realtime WebRTC client as a first-time aiortc user writes it: the baseline of client_cost.py.

Why: "how many sessions per core" only means something next to what plain aiortc gives. This is
the straightforward version of the same job as ``RealtimeSession``: an ``AudioStreamTrack``-style
track that builds an ``av.AudioFrame`` from numpy every 20 ms (aiortc encodes it on its thread
pool and computes its RTP audio level in pure Python), and a plain ``track.recv()`` loop that
decodes every received frame and measures its RMS with numpy to find when the reply starts.
Signalling is the OpenAI WebRTC flow (POST the SDP offer, Bearer key). Only two things are not
naive, both because of where it runs: ICE gathers 127.0.0.1 only (``harness.ice``), and the track
records how late it hands frames over (``PacingStats``), for the benchmark.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import json
import time
from typing import Any

import aiohttp
import numpy as np
import numpy.typing as npt
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame

from harness.client.audio_source import PacingStats
from harness.ice import loopback_only, rtc_configuration

SAMPLE_RATE = 48000
SAMPLES = 960  # 20 ms


class WavTrack(MediaStreamTrack):
    """aiortc's AudioStreamTrack, playing queued samples instead of silence."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.pending: npt.NDArray[np.int16] = np.zeros(0, dtype=np.int16)
        self.stats = PacingStats()
        self._start: float | None = None
        self._timestamp = 0

    def play(self, samples: npt.NDArray[np.int16]) -> float:
        """Queue samples; returns how long they take to play."""
        self.pending = np.concatenate([self.pending, samples])
        return len(samples) / SAMPLE_RATE

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.time()
        else:
            self._timestamp += SAMPLES
            due = self._start + self._timestamp / SAMPLE_RATE
            wait = due - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
            self.stats.add(time.time() - due)
        chunk = self.pending[:SAMPLES]
        self.pending = self.pending[SAMPLES:]
        if len(chunk) < SAMPLES:
            chunk = np.concatenate([chunk, np.zeros(SAMPLES - len(chunk), dtype=np.int16)])
        frame = AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._timestamp
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        return frame


class NaiveSession:
    """One call: offer/answer over HTTP, events on the data channel, audio in and out."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.base_url = base_url
        self.api_key = api_key
        self.pc = RTCPeerConnection(rtc_configuration())
        self.track = WavTrack()
        self.channel: Any = None
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.frames = 0  # decoded frames received
        self.onsets: list[float] = []  # when a reply's sound started (decoded frame delivery)
        self.speaking = False
        self._quiet = 0
        self._tasks: list[asyncio.Task[None]] = []

    async def connect(self) -> None:
        self.pc.addTrack(self.track)
        self.channel = channel = self.pc.createDataChannel("oai-events")
        opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        @channel.on("open")
        def on_open() -> None:
            if not opened.done():
                opened.set_result(None)

        self.channel.on("message", lambda message: self.events.put_nowait(json.loads(message)))

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            self._tasks.append(asyncio.ensure_future(self._consume(track)))

        with loopback_only():
            await self.pc.setLocalDescription(await self.pc.createOffer())
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{self.base_url}/realtime/calls",
                data=self.pc.localDescription.sdp,
                headers={"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/sdp"},
            ) as response,
        ):
            answer = await response.text()
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        await opened

    async def _consume(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            assert isinstance(frame, AudioFrame)
            self.frames += 1
            samples = frame.to_ndarray().astype(np.float32)
            rms = float(np.sqrt(np.mean(samples**2)))
            loud = rms > 32768 * 10 ** (-50 / 20)
            if loud and not self.speaking:
                self.speaking = True
                self.onsets.append(time.monotonic())
            self._quiet = 0 if loud else self._quiet + 1
            if self._quiet >= 25:
                self.speaking = False

    def send(self, event: dict[str, Any]) -> None:
        self.channel.send(json.dumps(event))

    async def wait_for(self, type_: str, timeout: float = 30.0) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                event = await self.events.get()
                if event.get("type") == type_:
                    return event

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.pc.close()
