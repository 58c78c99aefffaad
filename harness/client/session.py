"""One Realtime call over WebRTC: connect, exchange events, play WAVs, capture audio, hang up.

``RealtimeSession.connect`` follows the browser flow of the OpenAI WebRTC guide and marks each
phase on the timeline (CONNECT_START ... SESSION_READY). Everything after connect is a thin layer
over :class:`EventChannel` (events), :class:`PacedAudioTrack` (input) and :class:`AudioCapture`
(output), all recording on the same :class:`Timeline`. Load runs swap in pre-encoded input
(``opus_clips``) and a non-decoding receiver (``decode_output=False``), see :meth:`connect`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription

from harness.client import connect as http
from harness.client.audio_sink import AudioCapture, CapturedAudio
from harness.client.audio_source import PacedAudioTrack, PacingStats, PcmFrameProducer
from harness.client.datagram_arrival import DatagramArrivals
from harness.client.events import Event, EventChannel, Matcher
from harness.client.levels import install_fast_audio_level
from harness.client.opus_input import OpusClipCache, OpusPacketProducer
from harness.client.packet_levels import PacketLevelCapture
from harness.client.playback import play_clip
from harness.client.retry import RetryPolicy
from harness.client.rtp_stats import RtpCounters, read_rtp_counters
from harness.client.target import ConnectMode, Target
from harness.errors import ConnectError, ConnectionLost, HarnessError, ProtocolError
from harness.ice import loopback_only, rtc_configuration
from harness.protocol import ClientEventType, Milestone, ServerEventType
from harness.protocol.faults import Network
from harness.protocol.impairment import impair_connection
from harness.protocol.sctp_teardown import ignore_sctp_sends_after_close
from harness.timeline import Timeline

logger = logging.getLogger(__name__)

DATA_CHANNEL_LABEL = "oai-events"
CONNECT_TIMEOUT_S = 20.0  # the whole connect: HTTP SDP exchange, ICE/DTLS, session.created/updated
SESSION_UPDATED_TIMEOUT_S = 5.0  # what @openai/agents-realtime waits for session.updated
HANGUP_TIMEOUT_S = 3.0
DEFAULT_RETRY = RetryPolicy()  # 3 retries, 0.5 s doubling backoff with full jitter


class SessionUpdateRejected(ProtocolError):
    """The server answered a ``session.update`` with an error (message: its code and text)."""


class RealtimeSession:
    """A connected call. Build it with :meth:`connect`; use it as an async context manager."""

    def __init__(
        self,
        target: Target,
        timeline: Timeline,
        mode: ConnectMode,
        *,
        opus_clips: OpusClipCache | None = None,
        decode_output: bool = True,
    ) -> None:
        self.target = target
        self.timeline = timeline
        self.mode = mode
        self.call_id: str | None = None
        self.local_sdp: str | None = None  # the offer as posted
        self.remote_sdp: str | None = None  # the answer as received
        self.events = EventChannel(timeline)
        self.producer: PcmFrameProducer | OpusPacketProducer = (
            PcmFrameProducer() if opus_clips is None else OpusPacketProducer(opus_clips)
        )
        self.track = PacedAudioTrack(self.producer)
        self.capture: AudioCapture | PacketLevelCapture = (
            AudioCapture(timeline) if decode_output else PacketLevelCapture(timeline)
        )
        self.pc = RTCPeerConnection(rtc_configuration())
        self.datagrams = DatagramArrivals()  # kernel receive instants (first-audio at arrival)
        self._connected = asyncio.get_running_loop().create_future()
        self._closed = False
        self._lost: ConnectionLost | None = None  # the connection failed or closed under us

    # ---- public surface --------------------------------------------------------------------

    @property
    def received(self) -> list[Event]:
        """Every server event received so far, in arrival order."""
        return self.events.received

    async def send(self, event: Mapping[str, Any]) -> Event:
        """Send a client event (``event_id`` added if missing, recorded as SENT); returns it."""
        return await self.events.send(event)

    async def wait_for(
        self,
        type_: str,
        timeout: float = 10.0,
        *,
        after: float | None = None,
        match: Matcher | None = None,
    ) -> Event:
        """First ``type_`` event received at timeline ``t >= after`` matching ``match``; without
        ``after``, the first one no earlier wait_for returned (see events.py). Raises
        ServerEventTimeout naming the event and the timeout."""
        return await self.events.wait_for(type_, timeout=timeout, after=after, match=match)

    async def wait_for_any(
        self,
        types: Collection[str],
        timeout: float = 10.0,
        *,
        after: float | None = None,
        match: Matcher | None = None,
    ) -> Event:
        """:meth:`wait_for` for the first event of any of ``types``."""
        return await self.events.wait_for_any(types, timeout=timeout, after=after, match=match)

    async def play(self, path: Path, gain_db: float = 0.0) -> None:
        """Replay a WAV through the input track; returns once its last frame went to the sender.

        Clips queue in call order. If the clip is cut short (``play`` cancelled, :meth:`stop_audio`,
        or the session closing, which raises ConnectError) the INPUT_AUDIO_END milestone is still
        recorded, with ``cancelled: true``. With ``opus_clips`` the clip comes from that cache
        (encoded on its first use in the process).
        """
        if self._closed:
            raise ConnectError("cannot play audio: the session is closed")
        if self._lost is not None:
            raise ConnectionLost(f"cannot play audio: {self._lost}")
        await play_clip(self.producer, self.timeline, path, gain_db)

    async def update_session(
        self, config: Mapping[str, Any], *, timeout: float = SESSION_UPDATED_TIMEOUT_S
    ) -> Event:
        """Send ``session.update`` with ``config`` and wait for ``session.updated`` (returned).

        The one place the handshake lives: connect configures the session with it, a runner
        switching turn detection mid-session uses it too. ``type`` defaults to "realtime" (GA
        requires it). Raises :class:`SessionUpdateRejected` when the server answers with an error
        naming this update, ServerEventTimeout when it does not answer.
        """
        sent_at = self.timeline.now()
        update = await self.send(
            {"type": ClientEventType.SESSION_UPDATE.value, "session": {"type": "realtime", **config}}
        )
        reply = await self.wait_for_any(
            (ServerEventType.SESSION_UPDATED, ServerEventType.ERROR),
            timeout=timeout,
            after=sent_at,
            match=lambda e: e["type"] == ServerEventType.SESSION_UPDATED or _answers(e, update["event_id"]),
        )
        if reply["type"] == ServerEventType.ERROR:
            error = reply.get("error") or {}
            raise SessionUpdateRejected(f"{error.get('code') or error.get('type')}: {error.get('message')}")
        return reply

    # ---- output audio ----------------------------------------------------------------------

    def begin_output_recording(self, path: Path) -> None:
        """Write the assistant's audio from now on to ``path`` (48 kHz mono s16 WAV)."""
        self.capture.begin_segment(path)

    def end_output_recording(self) -> CapturedAudio:
        """Close the recording begun last; its length, peak and whether any of it was sound."""
        return self.capture.end_segment()

    async def rtp_stats(self) -> RtpCounters:
        """Audio RTP counters of both directions (:mod:`harness.client.rtp_stats`). What came back
        is counted by our own capture on both paths (the non-decoding one takes the receiver's
        packets over, so aiortc never sees them): loss and reordering by sequence number
        (:mod:`harness.client.rtp_sequence`: never the -1 that reordering gives aiortc's count),
        and jitter from the packets' arrival instants (:mod:`harness.client.arrival_jitter`), not
        from when the loop handled them."""
        counters = await read_rtp_counters(self.pc)
        sequence = self.capture.sequence
        if sequence.packets:  # ours on both paths (the non-decoding path's never reach aiortc's)
            counters.packets_received = sequence.packets
            counters.packets_lost = sequence.lost
            counters.packets_out_of_order = sequence.out_of_order
        if self.capture.jitter.jitter_ms is not None:
            counters.jitter_ms = self.capture.jitter.jitter_ms
        return counters

    @property
    def pacing(self) -> PacingStats:
        """How late input frames reach the sender against their schedule (``observe`` to stream it)."""
        return self.track.stats

    @property
    def output_audio_active(self) -> bool:
        """True while received audio is sound (until the level detector's hangover declares silence)."""
        return self.capture.detector.active

    def stop_audio(self) -> None:
        """Cut the input audio now (pending ``play`` calls return): the track goes back to silence."""
        self.producer.clear()

    # ---- connect ---------------------------------------------------------------------------

    @classmethod
    async def connect(
        cls,
        target: Target,
        *,
        timeline: Timeline | None = None,
        session_config: Mapping[str, Any] | None = None,
        mode: ConnectMode = ConnectMode.UNIFIED,
        timeout: float = CONNECT_TIMEOUT_S,
        opus_clips: OpusClipCache | None = None,
        decode_output: bool = True,
        retry: RetryPolicy = DEFAULT_RETRY,
        network: Network | None = None,
    ) -> RealtimeSession:
        """Set up the call and configure the session; raises ConnectError (HttpStatusError,
        AuthenticationError) / ServerEventTimeout (all HarnessError) and closes everything it
        opened on failure.

        ``session_config`` is the ``session`` object of the session.update sent after
        session.created (``type`` defaults to "realtime"); None sends no update, and the session
        is ready at session.created. ``timeout`` bounds the whole connect, retries included:
        429/5xx answers to the session-creating requests are retried as ``retry`` says (each
        retry a ``connect.retry`` milestone). ``network`` impairs the RTP this side sends
        (:mod:`harness.protocol.impairment`), whatever the target.

        The load path (both default off, each usable alone): ``opus_clips`` sends pre-encoded
        Opus from that per-process cache instead of PCM frames aiortc encodes
        (:mod:`harness.client.opus_input`); ``decode_output=False`` detects the reply's onsets and
        offsets at packet arrival without decoding (:mod:`harness.client.packet_levels`); such a
        session cannot record output audio.
        """
        install_fast_audio_level()
        ignore_sctp_sends_after_close()
        session = cls(
            target,
            timeline if timeline is not None else Timeline(),
            mode,
            opus_clips=opus_clips,
            decode_output=decode_output,
        )
        deadline = asyncio.get_running_loop().time() + timeout
        try:
            async with asyncio.timeout(timeout):
                await session._connect(session_config, timeout, deadline, retry, network)
        except TimeoutError:
            phase = session._phase()
            await session.close()
            raise ConnectError(
                f"connecting to {target.calls_url} timed out after {timeout:g} s ({phase})"
            ) from None
        except BaseException:
            await session.close()
            raise
        return session

    def _phase(self) -> str:
        """The last connect milestone reached, for timeout messages."""
        for entry in reversed(self.timeline.entries):
            if entry.type.startswith("connect."):
                return f"last step: {entry.type}"
        return "not started"

    async def _connect(
        self,
        session_config: Mapping[str, Any] | None,
        timeout: float,
        deadline: float,
        retry: RetryPolicy,
        network: Network | None,
    ) -> None:
        target, timeline = self.target, self.timeline
        start: dict[str, Any] = {"url": target.calls_url, "mode": str(self.mode), "model": target.model}
        if network is not None:
            start["network"] = network.model_dump(exclude_defaults=True)
        timeline.mark(Milestone.CONNECT_START, start)

        bearer = await http.authorise(
            target, self.mode, timeline, timeout=timeout, retry=retry, deadline=deadline
        )
        self._wire_peer_connection()
        with loopback_only(target.is_loopback):
            await self.pc.setLocalDescription(await self.pc.createOffer())
        self._stamp_datagrams()
        impair_connection(self.pc, outgoing=network, incoming=None, salt="client")
        offer = self.local_sdp = self.pc.localDescription.sdp
        timeline.mark(
            Milestone.SDP_OFFER_CREATED, {"bytes": len(offer), "candidates": offer.count("a=candidate:")}
        )
        answer = await http.exchange_offer(
            target, offer, self.mode, bearer, timeline, timeout=timeout, retry=retry, deadline=deadline
        )
        self.call_id, self.remote_sdp = answer.call_id, answer.sdp
        timeline.mark(Milestone.SDP_ANSWER_RECEIVED, {"call_id": answer.call_id, "status": answer.status})
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer.sdp, type="answer"))
        except (ValueError, TypeError) as exc:
            raise ConnectError(f"the SDP answer from {target.calls_url} is unusable: {exc}") from exc

        await asyncio.shield(self._connected)  # data channel open (or a failure)
        await self.events.wait_for(ServerEventType.SESSION_CREATED, timeout=timeout)
        if session_config is not None:
            try:
                await self.update_session(session_config)
            except SessionUpdateRejected as exc:
                raise ConnectError(f"session.update rejected by {target.base_url}: {exc}") from None
        timeline.mark(Milestone.SESSION_READY, {"call_id": self.call_id})

    def _stamp_datagrams(self) -> None:
        """Once ICE has gathered (its sockets exist): stamp each datagram at kernel receive."""
        for transceiver in self.pc.getTransceivers():
            connection = getattr(transceiver.receiver.transport.transport, "_connection", None)
            if connection is not None:
                self.datagrams.install(connection)
                return

    def _wire_peer_connection(self) -> None:
        """Input track + capture receiver + data channel + state listeners, before the offer."""
        pc, timeline = self.pc, self.timeline
        transceiver = pc.addTransceiver(self.track, direction="sendrecv")
        opus = [c for c in RTCRtpSender.getCapabilities("audio").codecs if c.mimeType.lower() == "audio/opus"]
        transceiver.setCodecPreferences(opus)
        self.capture.hook_receiver(transceiver.receiver, self.datagrams)

        channel = pc.createDataChannel(DATA_CHANNEL_LABEL)
        self.events.attach(channel)

        @channel.on("open")
        def on_open() -> None:
            timeline.mark(Milestone.CHANNEL_OPEN, {"label": channel.label})
            if not self._connected.done():
                self._connected.set_result(None)

        @pc.on("track")
        def on_track(track: Any) -> None:
            if track.kind == "audio":
                self.capture.start(track)

        ice_marked = False

        @pc.on("iceconnectionstatechange")
        def on_ice_state() -> None:
            nonlocal ice_marked
            if pc.iceConnectionState in ("connected", "completed") and not ice_marked:
                ice_marked = True
                timeline.mark(Milestone.ICE_CONNECTED)

        @pc.on("connectionstatechange")
        def on_state() -> None:
            state = pc.connectionState
            if state == "connected":
                timeline.mark(Milestone.PEER_CONNECTED)
            elif state in ("failed", "closed") and not self._closed:
                error = ConnectionLost(f"the WebRTC connection to {self.target.base_url} {state}")
                if not self._connected.done():
                    self._connected.set_exception(error)
                self.events.fail(error)
                self._lost = error
                self.producer.clear(error)  # a waiting play() ends too: nothing sends its audio

    # ---- teardown --------------------------------------------------------------------------

    async def close(self) -> None:
        """Hang up (failures recorded, not raised), close the peer connection, stop the tasks."""
        if self._closed:
            return
        self._closed = True
        if self.call_id is not None:
            await self._hangup()
        self.producer.clear(ConnectError("the session closed while audio was playing"))
        self.track.stop()
        await self.pc.close()
        await self.capture.stop()
        self.events.fail(ConnectError("the session is closed"))
        if not self._connected.done():
            self._connected.cancel()
        elif not self._connected.cancelled():
            self._connected.exception()  # retrieved: a failure nobody awaited is not an asyncio warning
        self.timeline.mark(Milestone.CLOSED, {"call_id": self.call_id})

    async def _hangup(self) -> None:
        assert self.call_id is not None
        data: dict[str, Any] = {"call_id": self.call_id}
        try:
            data["status"] = await http.hangup(self.target, self.call_id, timeout=HANGUP_TIMEOUT_S)
        except HarnessError as exc:
            data["error"] = str(exc)
        except Exception as exc:  # never let a hangup problem mask the run's outcome
            data["error"] = http.scrub(f"{type(exc).__name__}: {exc}", self.target.api_key)
        if "error" in data:
            logger.debug("hangup of %s failed: %s", self.call_id, data["error"])
        self.timeline.mark(Milestone.HANGUP, data)

    async def __aenter__(self) -> RealtimeSession:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


def _answers(event: Event, event_id: str) -> bool:
    """True for an error event that names our client event (error.event_id)."""
    error = event.get("error")
    return isinstance(error, dict) and error.get("event_id") == event_id
