"""A minimal raw-aiortc Realtime answerer: the test double the client is exercised against.

It is not the project's stand-in server (harness/server): just enough of the HTTP contract
(client_secrets, calls, hangup) and of the data-channel protocol (session.created/updated,
committed, error) to drive the client over real loopback WebRTC, plus an audio echo (the audio
the client sends comes back on the answer track) so capture and onset detection see real RTP.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from harness.ice import loopback_only, rtc_configuration

API_KEY = "sk-test-SECRET-0123456789"


class EchoTrack(MediaStreamTrack):
    """Sends back whatever the client's track delivers (already paced by the remote sender)."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.source: MediaStreamTrack | None = None
        self._ready = asyncio.Event()

    def attach(self, source: MediaStreamTrack) -> None:
        self.source = source
        self._ready.set()

    async def recv(self) -> Any:
        await self._ready.wait()
        assert self.source is not None
        try:
            return await self.source.recv()
        except MediaStreamError:
            self.stop()
            raise


@dataclass
class FakeCall:
    call_id: str
    pc: RTCPeerConnection
    echo: EchoTrack
    channel: Any = None
    received: list[dict[str, Any]] = field(default_factory=list)

    def send(self, event: dict[str, Any]) -> None:
        event.setdefault("event_id", f"event_{secrets.token_hex(8)}")
        self.channel.send(json.dumps(event))


class FakeRealtime:
    """aiohttp app on 127.0.0.1:0 answering WebRTC calls with aiortc."""

    def __init__(self) -> None:
        self.api_key = API_KEY
        self.ephemeral_keys: set[str] = set()
        self.requests: list[dict[str, Any]] = []
        self.calls: dict[str, FakeCall] = {}
        self.hangups: list[str] = []
        self.headers: list[tuple[str, dict[str, str]]] = []  # (last path segment, lower-cased headers)
        self.fail_calls: tuple[int, dict[str, Any]] | None = None  # (status, error) to answer instead
        self.reject_session_update = False
        self.send_session_created = True
        self.base_url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application(middlewares=[self._record_headers])
        app.router.add_post("/v1/realtime/client_secrets", self._client_secret)
        app.router.add_post("/v1/realtime/calls", self._calls)
        app.router.add_post("/v1/realtime/calls/{call_id}/hangup", self._hangup)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}/v1"

    async def stop(self) -> None:
        for call in self.calls.values():
            await call.pc.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @web.middleware
    async def _record_headers(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        headers = {name.lower(): value for name, value in request.headers.items()}
        self.headers.append((request.path.rstrip("/").rsplit("/", 1)[-1], headers))
        return await handler(request)

    def _bearer(self, request: web.Request) -> str:
        return request.headers.get("Authorization", "").removeprefix("Bearer ")

    @staticmethod
    def _error(status: int, code: str, message: str) -> web.Response:
        body = {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}}
        return web.json_response(body, status=status)

    async def _client_secret(self, request: web.Request) -> web.Response:
        if self._bearer(request) != self.api_key:
            return self._error(401, "invalid_api_key", "Incorrect API key provided.")
        body = await request.json()
        self.requests.append({"path": "client_secrets", "body": body})
        value = f"ek_{secrets.token_hex(12)}"
        self.ephemeral_keys.add(value)
        session = {
            "type": "realtime",
            "object": "realtime.session",
            "id": "sess_1",
            **body.get("session", {}),
        }
        return web.json_response({"value": value, "expires_at": int(time.time()) + 600, "session": session})

    async def _calls(self, request: web.Request) -> web.Response:
        bearer = self._bearer(request)
        if bearer != self.api_key and bearer not in self.ephemeral_keys:
            return self._error(401, "invalid_api_key", "Incorrect API key provided.")
        record: dict[str, Any] = {"path": "calls", "content_type": request.content_type, "bearer": bearer[:3]}
        if request.content_type == "multipart/form-data":
            reader = await request.multipart()
            parts: dict[str, Any] = {}
            async for part in reader:
                parts[part.name] = (part.headers.get("Content-Type"), (await part.read()).decode())  # type: ignore[union-attr]
            record["parts"] = parts
            offer = parts["sdp"][1]
        else:
            offer = await request.text()
        record["offer"] = offer
        self.requests.append(record)
        if self.fail_calls is not None:
            status, error = self.fail_calls
            return self._error(status, error["code"], error["message"])
        with loopback_only():
            answer, call = await self._answer(offer)
        self.calls[call.call_id] = call
        return web.Response(
            status=201,
            text=answer,
            content_type="application/sdp",
            headers={"Location": f"/v1/realtime/calls/{call.call_id}"},
        )

    async def _answer(self, offer: str) -> tuple[str, FakeCall]:
        pc = RTCPeerConnection(rtc_configuration())
        call = FakeCall(call_id=f"rtc_{secrets.token_hex(8)}", pc=pc, echo=EchoTrack())

        @pc.on("datachannel")
        def on_datachannel(channel: Any) -> None:
            call.channel = channel
            if self.send_session_created:
                call.send({"type": "session.created", "session": {"type": "realtime", "id": "sess_1"}})

            @channel.on("message")
            def on_message(message: str) -> None:
                event = json.loads(message)
                call.received.append(event)
                self._handle(call, event)

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            call.echo.attach(track)
            pc.addTrack(call.echo)

        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        return pc.localDescription.sdp, call

    def _handle(self, call: FakeCall, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "session.update":
            if self.reject_session_update:
                call.send(
                    {
                        "type": "error",
                        "error": {
                            "type": "invalid_request_error",
                            "code": "invalid_value",
                            "message": "Invalid value: 'robot'.",
                            "param": "session.audio.output.voice",
                            "event_id": event.get("event_id"),
                        },
                    }
                )
            else:
                call.send({"type": "session.updated", "session": event.get("session", {})})
        elif kind == "input_audio_buffer.commit":
            call.send({"type": "input_audio_buffer.committed", "item_id": "item_1", "previous_item_id": None})
        elif kind == "rth.test.raw":
            call.channel.send(event["raw"])
        else:
            call.send(
                {
                    "type": "error",
                    "error": {
                        "type": "invalid_request_error",
                        "code": "unknown_event",
                        "message": kind,
                        "param": None,
                        "event_id": event.get("event_id"),
                    },
                }
            )

    async def _hangup(self, request: web.Request) -> web.Response:
        if self._bearer(request) != self.api_key:
            return self._error(401, "invalid_api_key", "Incorrect API key provided.")
        call_id = request.match_info["call_id"]
        self.hangups.append(call_id)
        call = self.calls.get(call_id)
        if call is None:
            return self._error(404, "call_not_found", f"Call {call_id} not found.")
        await call.pc.close()
        return web.json_response({})
