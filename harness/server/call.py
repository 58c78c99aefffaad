"""One WebRTC call: the aiortc answerer, its audio in and out, and the data channel to the engine.

Follows aiortc's server example: RTCPeerConnection -> on("datachannel"), on("track") ->
setRemoteDescription -> createAnswer -> setLocalDescription -> the local description (which
already holds the gathered candidates: no trickle ICE). The audio transceiver is created before the
offer is applied so Opus can be preferred (PCMU would otherwise win when an offer lists it first).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from harness.ice import rtc_configuration
from harness.protocol.faults import Fault, rtp_network
from harness.protocol.impairment import TransportImpairment, impair_connection
from harness.protocol.sctp_teardown import ignore_sctp_sends_after_close
from harness.server.asr import Recognizer
from harness.server.asr_cache import PacketLog, TranscriptCache
from harness.server.audio_in import InputAudioBuffer, consume_track, drain
from harness.server.audio_out import OutgoingAudioTrack, PacketAudioTrack, ReplyTrack
from harness.server.config import ServerConfig
from harness.server.conversation import Conversation
from harness.server.decode_gate import DecodeGate, install_decode_gate
from harness.server.errors import ApiError
from harness.server.event_faults import EventFaults
from harness.server.events import error_event
from harness.server.ids import new_id
from harness.server.opus_replies import EncodedVoice
from harness.server.persona import Persona
from harness.server.sctp_guard import install_text_guard
from harness.server.timing import CallTiming, TimingLog
from harness.server.tts import Synthesizer

logger = logging.getLogger(__name__)

INVALID_OFFER = "Invalid SDP offer. Please try again with a WHIP-compliant offer."


@dataclass
class Engines:
    """What all calls of one server share. ``default_persona`` answers calls that bring none of
    their own; it never changes while the server runs, so concurrent calls cannot disturb each other."""

    config: ServerConfig
    asr: Recognizer
    tts: Synthesizer | EncodedVoice
    default_persona: Persona
    timing_log: TimingLog = field(default_factory=TimingLog)
    transcripts: TranscriptCache | None = None  # load mode: each distinct clip recognised once
    calls_created: int = 0

    def new_track(self) -> ReplyTrack:
        """Load mode sends pre-encoded packets; normal mode PCM frames aiortc encodes."""
        return PacketAudioTrack() if self.config.load else OutgoingAudioTrack()


def _opus_first(*, only: bool) -> list[Any]:
    """Opus before PCMU/PCMA; ``only`` (load mode: the track sends Opus packets) Opus alone."""
    codecs = RTCRtpSender.getCapabilities("audio").codecs
    opus_first = sorted(codecs, key=lambda codec: codec.mimeType.lower() != "audio/opus")
    return [c for c in opus_first if c.mimeType.lower() == "audio/opus"] if only else opus_first


class Call:
    """A call from its SDP offer to its hangup; ``id`` is the ``rtc_...`` of the Location header.

    ``persona`` is this call's reply rules, fixed for its lifetime (the call's own from its
    ``X-Rth-Persona`` header, else the server default); ``faults`` what it injects (the server's,
    then the call's own; see :mod:`harness.server.faults`).
    """

    def __init__(
        self,
        engines: Engines,
        session_config: dict[str, Any],
        persona: Persona,
        on_closed: Callable[[Call], None],
        faults: tuple[Fault, ...] = (),
    ) -> None:
        self.id = new_id("rtc")
        self.faults = faults
        self._event_faults = (
            EventFaults(faults, self._send_text, self._close_channel, self.close_soon) if faults else None
        )
        self.impairment: TransportImpairment | None = None
        self._on_closed = on_closed
        self.pc = RTCPeerConnection(configuration=rtc_configuration())
        self._load = engines.config.load
        self.track = engines.new_track()
        self.decode_gate: DecodeGate | None = None
        self.input_audio = InputAudioBuffer(engines.config.max_input_buffer_seconds)
        if engines.transcripts is not None:  # load mode: the decode gate logs packets here
            max_packets = int(self.input_audio.max_ms / 10) + 1  # shorter packets: no fingerprint
            self.input_audio.packets = PacketLog(max_packets, engines.transcripts.silent_payloads)
        engines.calls_created += 1
        self.conversation = Conversation(
            config=engines.config,
            session_config=session_config,
            send=self._send,
            track=self.track,
            input_audio=self.input_audio,
            asr=engines.asr,
            tts=engines.tts,
            timing=CallTiming(engines.config, self.id, engines.calls_created, engines.timing_log),
            persona=persona,
            transcripts=engines.transcripts,
        )
        self._channel: Any = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._close_task: asyncio.Task[None] | None = None
        self._timer = asyncio.get_running_loop().call_later(engines.config.max_call_seconds, self.close_soon)
        self.pc.on("datachannel", self._on_datachannel)
        self.pc.on("track", self._on_track)
        self.pc.on("connectionstatechange", self._on_connection_state)

    async def answer(self, offer_sdp: str) -> str:
        """Apply the offer and return the answer SDP; a bad offer raises ``invalid_offer`` (400)."""
        if not offer_sdp.lstrip().startswith("v=0") or "\nm=" not in offer_sdp:
            raise ApiError(INVALID_OFFER, code="invalid_offer")
        ignore_sctp_sends_after_close()
        transceiver = None
        if "\nm=audio" in offer_sdp:
            transceiver = self.pc.addTransceiver(self.track, direction="sendrecv")
            transceiver.setCodecPreferences(_opus_first(only=self._load))
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            if self.pc.sctp is not None:
                install_text_guard(self.pc.sctp)
            await self.pc.setLocalDescription(await self.pc.createAnswer())
        except Exception as exc:
            logger.info("call %s: offer rejected: %s", self.id, exc)
            raise ApiError(INVALID_OFFER, code="invalid_offer") from None
        self.impairment = impair_connection(
            self.pc,
            outgoing=rtp_network(self.faults, "to_client"),
            incoming=rtp_network(self.faults, "from_client"),
            salt="standin",
        )
        if transceiver is None or transceiver.currentDirection not in ("sendrecv", "sendonly"):
            # Nobody pulls the track: drive its clock ourselves so responses still play out.
            self._spawn(drain(self.track), "rth-drain")
        else:
            sender = transceiver.sender
            self.track.send_clock.install(sender.transport, sender._ssrc)
        return str(self.pc.localDescription.sdp)

    def close_soon(self) -> None:
        """Close from a callback (hangup timer, peer failure)."""
        if self._close_task is None:
            self._close_task = asyncio.create_task(self._close(), name=f"rth-close-{self.id}")

    async def close(self) -> None:
        """Hang up: stop the engine, the tracks and the peer connection (idempotent)."""
        self.close_soon()
        assert self._close_task is not None
        await asyncio.shield(self._close_task)

    async def _close(self) -> None:
        self._timer.cancel()
        if self._event_faults is not None:
            self._event_faults.close()
        if self.impairment is not None:
            logger.info("call %s: RTP impairment %s", self.id, self.impairment.summary())
        await self.conversation.close()
        self.track.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.pc.close()
        logger.info("call %s closed", self.id)
        self._on_closed(self)

    def _send(self, event: dict[str, Any]) -> None:
        if self._event_faults is not None:
            self._event_faults.send(event)
        else:
            self._send_text(json.dumps(event, separators=(",", ":")))

    def _send_text(self, text: str) -> None:
        channel = self._channel
        if channel is None or channel.readyState != "open":
            return
        try:
            channel.send(text)
        except ValueError:  # more than the peer's a=max-message-size: it learns why instead
            type_ = str(json.loads(text).get("type"))
            logger.warning(
                "call %s: a %d-character %s event is too large for the peer", self.id, len(text), type_
            )
            too_large = ApiError(
                f"The server event '{type_}' ({len(text)} characters) is larger than this peer's "
                "SDP a=max-message-size allows; it was not sent.",
                code=None,
            )
            channel.send(json.dumps(error_event(too_large, None), separators=(",", ":")))

    def _close_channel(self) -> None:
        """The ``drop_data_channel`` fault: the channel goes, the call's audio stays."""
        if self._channel is not None:
            self._channel.close()

    def _spawn(self, coroutine: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coroutine, name=f"{name}-{self.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_datachannel(self, channel: Any) -> None:
        channel.on("message", self.conversation.handle_message)
        if self._channel is None:
            self._channel = channel
            self.conversation.open()
            if self._event_faults is not None:
                self._event_faults.channel_opened()

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            if self._load:
                receiver = next((r for r in self.pc.getReceivers() if r.track is track), None)
                if receiver is not None:
                    self.decode_gate = install_decode_gate(receiver, self.input_audio)
            self._spawn(consume_track(track, self.input_audio), "rth-audio-in")
        else:
            self._spawn(drain(track), "rth-drain")

    def _on_connection_state(self) -> None:
        state = self.pc.connectionState
        logger.debug("call %s: connection %s", self.id, state)
        if state in ("failed", "closed"):
            self.close_soon()
