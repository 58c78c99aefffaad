"""The event engine of one call: client events in, server events out, in the API's order.

Manual turns (``turn_detection: null``): the client commits the input audio buffer, then asks for a
response. With ``server_vad``/``semantic_vad`` (:mod:`harness.server.turn_detection`) the server
commits and responds by itself and a user who talks over the assistant interrupts it.

Interruption: ``response.cancel`` ends an active (still generating) response: ``response.done``
``cancelled``/``client_cancelled``; after generation it answers ``response_cancel_not_active``.
``output_audio_buffer.clear`` silences the track, answers ``output_audio_buffer.cleared``
(naming the response whose audio it cut), cancels an active audio response, then sends
``conversation.item.truncated`` with the milliseconds actually played. A cleared response gets
no ``output_audio_buffer.stopped``. A VAD barge-in does the same with reason ``turn_detected``.

Errors never close the session: a bad event gets an ``error`` event naming its ``event_id``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from harness.protocol import ClientEventType, ServerEventType
from harness.server import client_events, events, session
from harness.server.asr import Recognizer
from harness.server.asr_cache import TranscriptCache
from harness.server.audio_in import InputAudioBuffer
from harness.server.audio_out import ReplyTrack
from harness.server.config import ServerConfig
from harness.server.errors import ApiError
from harness.server.ids import new_id
from harness.server.items import ItemEvents, ItemRecord, ItemStore, item_text
from harness.server.opus_replies import EncodedVoice
from harness.server.persona import Persona, instructed_reply
from harness.server.response import ResponseOptions, ResponseRun
from harness.server.response_params import resolve_options
from harness.server.timing import CallTiming
from harness.server.transcription import Transcriber
from harness.server.tts import Synthesizer
from harness.server.turn_detection import TurnDetector

logger = logging.getLogger(__name__)
C = ClientEventType
E = ServerEventType
MIN_COMMIT_MS = 100
Handler = Callable[[dict[str, Any]], None]
SERVER_ERROR = ApiError(
    "The server had an error while processing your request. Sorry about that!",
    code=None,
    type="server_error",
)


class Conversation:
    """One call's session state: config, items, the input buffer, turn detection, responses."""

    def __init__(
        self,
        *,
        config: ServerConfig,
        session_config: dict[str, Any],
        send: Callable[[dict[str, Any]], None],
        track: ReplyTrack,
        input_audio: InputAudioBuffer,
        asr: Recognizer,
        tts: Synthesizer | EncodedVoice,
        timing: CallTiming,
        persona: Persona,
        transcripts: TranscriptCache | None = None,
    ) -> None:
        self.config = config
        self.session = session_config
        self.conversation_id = new_id("conv")
        self.pacing = config.pacing
        self.generation_speed = config.generation_speed
        self.track = track
        self.tts = tts
        self.timing = timing
        self.persona = persona
        self.input_audio = input_audio
        self._send = send
        self.transcriber = Transcriber(self, asr, persona, load=config.load, cache=transcripts)
        self.items = ItemStore()
        self._item_events = ItemEvents(self.items, self.emit)
        self.active: ResponseRun | None = None
        self._audio_runs: list[ResponseRun] = []
        self._last_audio: ResponseRun | None = None
        self._voice_locked = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        self.turns = TurnDetector(self)
        self.turns.configure(self._turn_detection())
        input_audio.listeners.append(self.turns.on_audio)
        self._decode_when_needed()
        self._handlers: dict[str, Handler] = {
            C.SESSION_UPDATE: self._session_update,
            C.INPUT_AUDIO_BUFFER_APPEND: self._append,
            C.INPUT_AUDIO_BUFFER_COMMIT: self._commit,
            C.INPUT_AUDIO_BUFFER_CLEAR: self._input_clear,
            C.OUTPUT_AUDIO_BUFFER_CLEAR: self._output_clear,
            C.RESPONSE_CREATE: self._response_create,
            C.RESPONSE_CANCEL: self._response_cancel,
            C.CONVERSATION_ITEM_CREATE: self._item_events.create,
            C.CONVERSATION_ITEM_RETRIEVE: self._item_events.retrieve,
            C.CONVERSATION_ITEM_DELETE: self._item_events.delete,
            C.CONVERSATION_ITEM_TRUNCATE: self._item_events.truncate,
        }

    # -- plumbing -------------------------------------------------------------------------------

    def open(self) -> None:
        """The data channel is open: announce the session."""
        self.emit(E.SESSION_CREATED, session=self.session)

    def emit(self, type_: str, **fields: Any) -> None:
        if not self._closed:
            self._send(events.event(str(type_), **fields))

    def handle_message(self, message: str | bytes) -> None:
        """One client event (a JSON text message), handled in arrival order. Whatever the message,
        the answer to a bad one is an ``error`` event and the session goes on."""
        if self._closed:
            return
        event_id = None
        try:
            event = client_events.decode(message)
            event_id = client_events.event_id(event)
            type_ = client_events.check(event, self._handlers)
            self._handlers[type_](event)
        except ApiError as error:
            self._send(events.error_event(error, event_id))
        except Exception:  # a stand-in bug: the session outlives it, as the API's would
            logger.exception("%s: a client event failed", self.conversation_id)
            self._send(events.error_event(SERVER_ERROR, event_id))

    def spawn(self, coroutine: Coroutine[Any, Any, Any], name: str) -> None:
        task = asyncio.create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Stop everything this conversation started; send nothing more."""
        self._closed = True
        if self.turns.on_audio in self.input_audio.listeners:
            self.input_audio.listeners.remove(self.turns.on_audio)
        run = self.active
        if run is not None:
            run.cancel("client_cancelled")
            await run.wait()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- ResponseHost / TurnHost ----------------------------------------------------------------

    def audio_clock_ms(self) -> float:
        return self.input_audio.received_ms

    def add_assistant_item(self, run: ResponseRun) -> str | None:
        assert run.item is not None
        return self.items.add(ItemRecord(run.item))

    async def reply_text(self, run: ResponseRun) -> str:
        """What the assistant says: scripted by the instructions, else the persona's reply to the
        last user message in the response's context (waiting for its transcript)."""
        scripted = instructed_reply(run.options.instructions)
        if scripted is not None:
            return scripted
        if run.options.input_items is not None:  # references keep their record (and transcript)
            context = [
                self.items.get(item["id"]) if item.get("id") in self.items else ItemRecord(item)
                for item in run.options.input_items
            ]
        else:
            context = self.items.records()
        for record in reversed(context):
            if record.role != "user":
                continue
            if record.text is None:
                return self.persona.reply(item_text(record.item))
            transcript = await asyncio.shield(record.text)
            if record.unrecognised_speech is not None:
                return self.persona.reply_unheard(record.unrecognised_speech)
            return self.persona.reply(transcript)
        return self.persona.reply("")

    def input_usage(self) -> tuple[int, int]:
        text = events.text_tokens(self.session.get("instructions"))
        seconds = 0.0
        for record in self.items.records():
            if record.role == "user":
                seconds += record.audio_ms / 1000
            if not record.audio_ms and record.text is not None and record.text.done():
                text += events.text_tokens(record.text.result())
        return text, events.audio_tokens(seconds, events.INPUT_AUDIO_TOKENS_PER_S)

    def response_finished(self, run: ResponseRun) -> None:
        if self.active is run:
            self.active = None
        if run.item is not None and run.item["id"] in self.items:
            self.items.get(run.item["id"]).audio_ms = run.generated_seconds * 1000

    def playback_finished(self, run: ResponseRun) -> None:
        if run in self._audio_runs:
            self._audio_runs.remove(run)
        if self.active is None and not any(r.playing for r in self._audio_runs):
            self.turns.arm_idle_timeout()

    # -- session and input audio -----------------------------------------------------------------

    def _turn_detection(self) -> Any:
        return ((self.session.get("audio") or {}).get("input") or {}).get("turn_detection")

    def _session_update(self, event: dict[str, Any]) -> None:
        update = session.validate_update(event.get("session"))
        merged = session.merge(self.session, update)
        if self._voice_locked and session.voice_of(merged) != session.voice_of(self.session):
            raise ApiError(
                "Cannot update a conversation's voice if assistant audio is present.",
                code="cannot_update_voice",
                param="session.audio.output.voice",
            )
        self.session = merged
        self.turns.configure(self._turn_detection())
        self._decode_when_needed()
        self.emit(E.SESSION_UPDATED, session=self.session)

    def _decode_when_needed(self) -> None:
        """Load mode decodes the caller's audio only for VAD or recognition (see decode_gate)."""
        self.input_audio.decode = self.turns.params is not None or self.transcriber.needs_recognition()

    def _append(self, event: dict[str, Any]) -> None:
        raise ApiError(
            "input_audio_buffer.append is not used over WebRTC: send the audio on the media track.",
            code="invalid_value",
            param="type",
        )

    def _input_clear(self, event: dict[str, Any]) -> None:
        self.input_audio.clear()
        self.turns.reset()
        self.emit(E.INPUT_AUDIO_BUFFER_CLEARED)

    def _commit(self, event: dict[str, Any]) -> None:
        self.commit()
        self.turns.reset()

    def commit(
        self,
        item_id: str | None = None,
        *,
        from_ms: float | None = None,
        force: bool = False,
        speech: bool = True,
    ) -> str:
        """Turn the buffered input audio into a user item and start transcribing it.

        ``force`` (VAD commits) skips the API's 100 ms minimum, which guards manual commits.
        ``speech`` is False for an idle-timeout commit (a silent span): load mode's reply to a
        turn it does not recognise depends on it.
        """
        buffered_ms = self.input_audio.duration_ms
        if buffered_ms < MIN_COMMIT_MS and not force:
            raise ApiError(
                "Error committing input audio buffer: buffer too small. Expected at least "
                f"{MIN_COMMIT_MS}ms of audio, but buffer only has {buffered_ms:.2f}ms of audio.",
                code="input_audio_buffer_commit_empty",
            )
        fingerprint = self.input_audio.fingerprint(from_ms)  # load mode: keys the recognition cache
        pcm, audio_ms = self.input_audio.take(from_ms)
        item = events.user_audio_item(item_id or events.new_item_id(), None)
        transcript: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        record = ItemRecord(item, audio_ms=audio_ms, text=transcript)
        if not self.transcriber.needs_recognition():
            record.unrecognised_speech = speech
        previous = self.items.add(record)
        self.emit(E.INPUT_AUDIO_BUFFER_COMMITTED, previous_item_id=previous, item_id=item["id"])
        self.emit(E.CONVERSATION_ITEM_ADDED, previous_item_id=previous, item=item)
        self.emit(E.CONVERSATION_ITEM_DONE, previous_item_id=previous, item=item)
        run = self.transcriber.run(record, pcm, time.monotonic(), fingerprint)
        self.spawn(run, name=f"rth-asr-{item['id']}")
        return str(item["id"])

    # -- responses and output audio --------------------------------------------------------------

    def _response_create(self, event: dict[str, Any]) -> None:
        if self.active is not None:
            raise ApiError(
                f"Conversation already has an active response in progress: {self.active.id}. "
                "Wait until the response is finished before creating a new one.",
                code="conversation_already_has_active_response",
            )
        self._start_response(resolve_options(event.get("response"), self.session, self.items))

    def auto_respond(self) -> None:
        """A VAD turn ended (or the idle timeout fired): respond unless a response is active."""
        if self.active is None:
            self._start_response(resolve_options(None, self.session, self.items))

    def _start_response(self, options: ResponseOptions) -> None:
        run = ResponseRun(self, options)
        self.active = run
        self.turns.disarm_idle_timeout()
        if run.has_audio:
            self._voice_locked = True
            self._audio_runs.append(run)
            self._last_audio = run
        run.start()

    def _response_cancel(self, event: dict[str, Any]) -> None:
        wanted = event.get("response_id")
        if self.active is None or (wanted and wanted != self.active.id):
            raise ApiError("Cancellation failed: no active response found", code="response_cancel_not_active")
        self.active.cancel("client_cancelled")

    def _output_clear(self, event: dict[str, Any]) -> None:
        """Stop the sound now: cleared, then the active response ends cancelled, then truncated."""
        playing = [run for run in self._audio_runs if run.playing]
        self.track.flush()
        named = playing[-1] if playing else self._last_audio
        self.emit(E.OUTPUT_AUDIO_BUFFER_CLEARED, response_id=named.id if named is not None else "")
        if self.active is not None and self.active.has_audio:
            self.active.cancel("client_cancelled")
        # Includes a response whose audio response.cancel already cut (realtime pacing).
        for run in [*playing, *([self._last_audio] if self._last_audio is not None else [])]:
            self._truncate_cut(run)

    def barge_in(self) -> None:
        """The user started talking (VAD, interrupt_response): clear, cancel, truncate, as observed."""
        playing = [run for run in self._audio_runs if run.playing and run.in_conversation]
        active = self.active if self.active is not None and self.active.in_conversation else None
        if playing:
            self.track.flush()
            self.emit(E.OUTPUT_AUDIO_BUFFER_CLEARED, response_id=playing[-1].id)
        if active is not None:
            active.cancel("turn_detected")
        for run in playing:
            self._truncate_cut(run)

    def _truncate_cut(self, run: ResponseRun) -> None:
        """After a clear: the item keeps only the audio that was heard."""
        segment = run.segment
        if segment is None or not segment.cut or run.truncated or run.item is None:
            return
        run.truncated = True
        if run.in_conversation and run.item["id"] in self.items:
            self._item_events.apply_truncation(self.items.get(run.item["id"]), segment.played_ms)
