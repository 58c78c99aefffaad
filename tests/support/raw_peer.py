"""A minimal raw-aiortc offerer for the stand-in server's tests (not the harness client).

It speaks to the server exactly as a WebRTC client of the Realtime API does: a data channel
"oai-events", one sendrecv audio transceiver playing a WAV at real-time pace (silence otherwise),
the SDP offer posted over HTTP, every received event validated with parse_server_event (an invalid
one fails the test: ``expect`` raises at once, and ``connected`` checks again when the call ends)
and every received audio frame kept with its arrival time. A few client steps that wait for their
acknowledgement (configure, type_message, create_response) are methods.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import aiohttp
import av
import numpy as np
import soundfile
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from harness.ice import loopback_only, rtc_configuration
from harness.protocol import FRAME_SAMPLES, SAMPLE_RATE, parse_server_event
from harness.server.tts import resample_to_48k

SILENT_PEAK = 64  # Opus decodes digital silence to exact zeros; anything above this is sound


def flite_wav(text: str, path: Path, voice: str = "slt") -> np.ndarray:
    """Synthesise ``text`` with flite and return it as int16 mono 48 kHz."""
    subprocess.run(["flite", "-voice", voice, "-t", text, "-o", str(path)], check=True)
    samples, rate = soundfile.read(path, dtype="int16")
    return resample_to_48k(samples, rate)


class PlayerTrack(MediaStreamTrack):
    """Paced 20 ms frames: queued samples first, silence after; ``played`` resolves when drained."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._pending = np.zeros(0, dtype=np.int16)
        self._start: float | None = None
        self._pts = 0
        self.played: asyncio.Future[None] | None = None
        self.clip_start_ms = 0.0

    def play(self, samples: np.ndarray) -> asyncio.Future[None]:
        """Queue ``samples``; ``clip_start_ms`` is where they start on the track's clock (its pts),
        which is the server's audio clock as long as no packet is lost."""
        self.clip_start_ms = (self._pts + len(self._pending)) * 1000 / SAMPLE_RATE
        self._pending = np.concatenate([self._pending, samples.astype(np.int16)])
        self.played = asyncio.get_running_loop().create_future()
        return self.played

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self._pts / SAMPLE_RATE - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        chunk = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        take = self._pending[:FRAME_SAMPLES]
        chunk[: len(take)] = take
        self._pending = self._pending[len(take) :]
        if not len(self._pending) and self.played is not None and not self.played.done():
            self.played.set_result(None)
        frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.time_base = Fraction(1, SAMPLE_RATE)
        frame.pts = self._pts
        self._pts += FRAME_SAMPLES
        return frame


@dataclass
class Received:
    """One server event and when it arrived (monotonic seconds)."""

    event: dict[str, Any]
    at: float


@dataclass
class AudioFrameSeen:
    at: float
    peak: int
    mono: np.ndarray = field(repr=False)


class RawPeer:
    """Offerer side of one call; ``events`` and ``audio`` accumulate everything received."""

    def __init__(self) -> None:
        self.pc = RTCPeerConnection(configuration=rtc_configuration())
        self.player = PlayerTrack()
        self.pc.addTransceiver(self.player, direction="sendrecv")
        self.channel = self.pc.createDataChannel("oai-events")
        self.events: list[Received] = []
        self.invalid: list[tuple[dict[str, Any], str]] = []
        self.audio: list[AudioFrameSeen] = []
        self.offer_sdp = ""
        self.answer_sdp = ""
        self.call_id = ""
        self.reply_headers: dict[str, str] = {}
        self._changed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.channel_open = asyncio.Event()
        self.channel.on("open", self.channel_open.set)
        self.channel.on("message", self._on_message)
        self.pc.on("track", self._on_track)

    async def create_offer(self, *, strip_candidates: bool = False) -> str:
        with loopback_only():
            await self.pc.setLocalDescription(await self.pc.createOffer())
        sdp = str(self.pc.localDescription.sdp)
        if strip_candidates:  # as a browser posting right after setLocalDescription (trickle ICE)
            drop = ("a=candidate", "a=end-of-candidates")
            sdp = "".join(line for line in sdp.splitlines(keepends=True) if not line.startswith(drop))
        self.offer_sdp = sdp
        return sdp

    async def accept_answer(self, answer_sdp: str, location: str) -> None:
        self.answer_sdp = answer_sdp
        self.call_id = location.rsplit("/", 1)[-1]
        with loopback_only():
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type="answer"))

    async def connect(
        self,
        base_url: str,
        api_key: str,
        *,
        strip_candidates: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Raw ``application/sdp`` POST (with extra ``headers``), then wait for the data channel
        to open. ``reply_headers`` keeps the answer's headers."""
        offer = await self.create_offer(strip_candidates=strip_candidates)
        sent = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/sdp", **(headers or {})}
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{base_url}/realtime/calls", data=offer, headers=sent) as reply,
        ):
            body = await reply.text()
            assert reply.status == 201, body
            self.reply_headers = dict(reply.headers)
            await self.accept_answer(body, reply.headers["Location"])
        await asyncio.wait_for(self.channel_open.wait(), 10)

    def send(self, event: dict[str, Any]) -> None:
        self.channel.send(json.dumps(event))

    async def configure(self, **session: Any) -> dict[str, Any]:
        """session.update with ``session``; returns the session of the session.updated."""
        start = len(self.events)
        self.send({"type": "session.update", "session": {"type": "realtime", **session}})
        _, updated = await self.expect("session.updated", after=start)
        return dict(updated["session"])

    async def type_message(self, text: str) -> str:
        """A user turn typed as a conversation item; returns its id."""
        start = len(self.events)
        item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
        self.send({"type": "conversation.item.create", "item": item})
        _, added = await self.expect("conversation.item.added", after=start)
        return str(added["item"]["id"])

    async def create_response(self, **response: Any) -> str:
        """response.create (with ``response`` options, if any); returns the created response's id."""
        start = len(self.events)
        event: dict[str, Any] = {"type": "response.create", "event_id": f"evt_create_{start}"}
        if response:
            event["response"] = response
        self.send(event)
        _, created = await self.expect("response.created", after=start)
        return str(created["response"]["id"])

    async def expect(
        self, type_: str, *, after: int = 0, timeout: float = 15.0, **fields: Any
    ) -> tuple[int, dict[str, Any]]:
        """The first event of ``type_`` (with matching top-level ``fields``) at index >= ``after``."""

        async def scan() -> tuple[int, dict[str, Any]]:
            index = after
            while True:
                self.assert_valid()
                while index < len(self.events):
                    event = self.events[index].event
                    if event["type"] == type_ and all(event.get(k) == v for k, v in fields.items()):
                        return index, event
                    index += 1
                self._changed.clear()
                await self._changed.wait()

        try:
            return await asyncio.wait_for(scan(), timeout)
        except TimeoutError:
            seen = [r.event["type"] for r in self.events[after:]]
            raise AssertionError(
                f"no {type_} {fields} after #{after} within {timeout}s; saw {seen}"
            ) from None

    def assert_valid(self) -> None:
        """Fail on the first received event that the openai types reject."""
        if self.invalid:
            event, problem = self.invalid[0]
            raise AssertionError(f"invalid server event {event.get('type')!r}: {problem}\n{event}")

    def types(self, start: int = 0, end: int | None = None) -> list[str]:
        return [r.event["type"] for r in self.events[start:end]]

    def first_sound_after(self, t: float) -> float | None:
        """Arrival time of the first audible frame received after ``t``."""
        return next((f.at for f in self.audio if f.at > t and f.peak > SILENT_PEAK), None)

    def peaks_between(self, start: float, end: float) -> list[int]:
        return [f.peak for f in self.audio if start <= f.at <= end]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.pc.close()

    def _on_message(self, message: str | bytes) -> None:
        event = json.loads(message)
        try:
            parse_server_event(event)
        except Exception as exc:
            self.invalid.append((event, str(exc)))
        self.events.append(Received(event, time.monotonic()))
        self._changed.set()

    def _on_track(self, track: MediaStreamTrack) -> None:
        self._tasks.append(asyncio.create_task(self._capture(track)))

    async def _capture(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            assert isinstance(frame, av.AudioFrame)
            stereo = frame.to_ndarray().reshape(-1, 2).astype(np.int32)
            mono = stereo.mean(axis=1).astype(np.int16)
            self.audio.append(AudioFrameSeen(time.monotonic(), int(np.abs(stereo).max()), mono))


def candidate_addresses(sdp: str) -> set[str]:
    """The connection addresses of every ``a=candidate`` line."""
    return {line.split()[4] for line in sdp.splitlines() if line.startswith("a=candidate")}


async def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Poll ``predicate`` every 20 ms (a wait for a state, never a timing assertion)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)
