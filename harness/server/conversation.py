"""The event engine of one call: client events in, server events out, in the API's order.

Manual turns (``turn_detection: null``): the client commits the input audio buffer, then asks for a
response. Server VAD plugs in later as a listener on :class:`InputAudioBuffer` that calls
:meth:`Conversation.commit` and :meth:`ResponseRun.cancel` (``turn_detected``) itself.

Interruption (follow-playback pacing): ``response.cancel`` ends the active response at once (its
unplayed audio is dropped, the ``*.done`` events follow, ``response.done`` is ``cancelled`` /
``client_cancelled``) but sends no output_audio_buffer event; ``output_audio_buffer.clear`` silences
the track, answers ``output_audio_buffer.cleared`` (the last response with audio), cancels an
active audio response, then sends ``conversation.item.truncated`` with the milliseconds played.
A cleared response gets no ``output_audio_buffer.stopped``.

Errors never close the session: a bad event gets an ``error`` event naming its ``event_id``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from harness.protocol import ClientEventType, ServerEventType
from harness.server import events, session
from harness.server.asr import Recognizer
from harness.server.audio_in import InputAudioBuffer
from harness.server.audio_out import OutgoingAudioTrack
from harness.server.config import ServerConfig
from harness.server.errors import ApiError, invalid_value
from harness.server.ids import new_id
from harness.server.response import ResponseRun
from harness.server.tts import Synthesizer

logger = logging.getLogger(__name__)
C = ClientEventType
E = ServerEventType
MIN_COMMIT_MS = 100
Handler = Callable[[dict[str, Any]], None]


@dataclass
class ItemRecord:
    """A conversation item, its audio length (for usage) and its text once known."""

    item: dict[str, Any]
    audio_s: float = 0.0
    text: asyncio.Future[str] | None = None


class Conversation:
    """One call's session state: config, items, the input buffer, the active response."""

    def __init__(
        self,
        *,
        config: ServerConfig,
        session_config: dict[str, Any],
        send: Callable[[dict[str, Any]], None],
        track: OutgoingAudioTrack,
        input_audio: InputAudioBuffer,
        asr: Recognizer,
        tts: Synthesizer,
    ) -> None:
        self.config = config
        self.session = session_config
        self.conversation_id = new_id("conv")
        self.pacing = config.pacing
        self.track = track
        self.tts = tts
        self.input_audio = input_audio
        self._asr = asr
        self._send = send
        self._items: dict[str, ItemRecord] = {}
        self.active: ResponseRun | None = None
        self.last_audio: ResponseRun | None = None
        self._voice_locked = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        self._handlers: dict[str, Handler] = {
            C.SESSION_UPDATE: self._session_update,
            C.INPUT_AUDIO_BUFFER_APPEND: self._append,
            C.INPUT_AUDIO_BUFFER_COMMIT: self._commit,
            C.INPUT_AUDIO_BUFFER_CLEAR: self._input_clear,
            C.OUTPUT_AUDIO_BUFFER_CLEAR: self._output_clear,
            C.RESPONSE_CREATE: self._response_create,
            C.RESPONSE_CANCEL: self._response_cancel,
            C.CONVERSATION_ITEM_CREATE: self._item_create,
            C.CONVERSATION_ITEM_RETRIEVE: self._item_retrieve,
            C.CONVERSATION_ITEM_DELETE: self._item_delete,
            C.CONVERSATION_ITEM_TRUNCATE: self._item_truncate,
        }

    # -- plumbing -------------------------------------------------------------------------------

    def open(self) -> None:
        """The data channel is open: announce the session."""
        self.emit(E.SESSION_CREATED, session=self.session)

    def emit(self, type_: str, **fields: Any) -> None:
        if not self._closed:
            self._send(events.event(str(type_), **fields))

    def handle_message(self, message: str | bytes) -> None:
        """One client event (a JSON text message), handled in arrival order."""
        if self._closed:
            return
        event_id = None
        try:
            event = json.loads(message)
            if not isinstance(event, dict):
                raise ApiError("Invalid event: expected a JSON object.", code="invalid_json")
            event_id = event.get("event_id") if isinstance(event.get("event_id"), str) else None
            type_ = event.get("type")
            if not isinstance(type_, str):
                raise ApiError(
                    "Missing required parameter: 'type'.", code="missing_required_parameter", param="type"
                )
            handler = self._handlers.get(type_)
            if handler is None:
                supported = ", ".join(f"'{t}'" for t in self._handlers)
                raise invalid_value("type", f"Invalid value: '{type_}'. Supported values are: {supported}.")
            handler(event)
        except ApiError as error:
            self._send(events.error_event(error, event_id))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            invalid = ApiError(f"The event is not valid JSON: {exc}.", code="invalid_json")
            self._send(events.error_event(invalid, None))

    def spawn(self, coroutine: Coroutine[Any, Any, Any], name: str) -> None:
        task = asyncio.create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Stop everything this conversation started; send nothing more."""
        self._closed = True
        tasks = list(self._tasks)
        run = self.active
        if run is not None:
            run.cancel("client_cancelled")
            tasks.append(asyncio.ensure_future(run.wait()))
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- ResponseHost ---------------------------------------------------------------------------

    def add_item(self, item: dict[str, Any], *, audio_s: float = 0.0) -> str | None:
        previous = next(reversed(self._items), None)
        self._items[item["id"]] = ItemRecord(item, audio_s)
        return previous

    async def reply_text(self) -> str:
        """``You said: <what the last user item said>.``, or the fixed no-speech sentence."""
        for record in reversed(self._items.values()):
            if record.item.get("role") == "user" and record.text is not None:
                heard = (await asyncio.shield(record.text)).strip().rstrip(".")
                return f"You said: {heard}." if heard else self.config.no_speech_reply
        return self.config.no_speech_reply

    def input_usage(self) -> tuple[int, int]:
        text = events.text_tokens(self.session.get("instructions"))
        seconds = 0.0
        for record in self._items.values():
            seconds += record.audio_s
            if record.text is not None and record.text.done() and not record.audio_s:
                text += events.text_tokens(record.text.result())
        return text, events.audio_tokens(seconds, events.INPUT_AUDIO_TOKENS_PER_S)

    def response_finished(self, run: ResponseRun) -> None:
        if self.active is run:
            self.active = None
        if run.item is not None and run.item["id"] in self._items:
            self._items[run.item["id"]].audio_s = run.played_seconds

    # -- session and input audio -----------------------------------------------------------------

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
        self.emit(E.SESSION_UPDATED, session=self.session)

    def _append(self, event: dict[str, Any]) -> None:
        raise ApiError(
            "input_audio_buffer.append is not used over WebRTC: send the audio on the media track.",
            code="invalid_value",
            param="type",
        )

    def _input_clear(self, event: dict[str, Any]) -> None:
        self.input_audio.clear()
        self.emit(E.INPUT_AUDIO_BUFFER_CLEARED)

    def _commit(self, event: dict[str, Any]) -> None:
        self.commit()

    def commit(self) -> str:
        """Turn the buffered input audio into a user item and start transcribing it."""
        buffered_ms = self.input_audio.duration_ms
        if buffered_ms < MIN_COMMIT_MS:
            raise ApiError(
                "Error committing input audio buffer: buffer too small. Expected at least "
                f"{MIN_COMMIT_MS}ms of audio, but buffer only has {buffered_ms:.2f}ms of audio.",
                code="input_audio_buffer_commit_empty",
            )
        pcm = self.input_audio.take()
        item = events.user_audio_item(events.new_item_id(), None)
        previous = self.add_item(item, audio_s=buffered_ms / 1000)
        record = self._items[item["id"]]
        record.text = asyncio.get_running_loop().create_future()
        self.emit(E.INPUT_AUDIO_BUFFER_COMMITTED, previous_item_id=previous, item_id=item["id"])
        self.emit(E.CONVERSATION_ITEM_ADDED, previous_item_id=previous, item=item)
        self.emit(E.CONVERSATION_ITEM_DONE, previous_item_id=previous, item=item)
        self.spawn(self._transcribe(record, pcm), name=f"rth-asr-{item['id']}")
        return str(item["id"])

    async def _transcribe(self, record: ItemRecord, pcm: bytes) -> None:
        assert record.text is not None
        item_id = record.item["id"]
        try:
            transcript = await self._asr.transcribe(pcm)
        except Exception as exc:
            logger.warning("transcription of %s failed: %s", item_id, exc)
            record.text.set_result("")
            if session.transcription_enabled(self.session):
                error = {
                    "type": "server_error",
                    "code": "transcription_failed",
                    "message": str(exc),
                    "param": None,
                }
                self.emit(E.INPUT_TRANSCRIPTION_FAILED, item_id=item_id, content_index=0, error=error)
            return
        record.text.set_result(transcript)
        record.item["content"][0]["transcript"] = transcript
        if not session.transcription_enabled(self.session):
            return
        words = transcript.split()
        for i in range(0, len(words), 3):
            delta = ("" if i == 0 else " ") + " ".join(words[i : i + 3])
            self.emit(E.INPUT_TRANSCRIPTION_DELTA, item_id=item_id, content_index=0, delta=delta)
        self.emit(
            E.INPUT_TRANSCRIPTION_COMPLETED,
            item_id=item_id,
            content_index=0,
            transcript=transcript,
            usage=events.transcription_usage(record.audio_s, transcript),
        )

    # -- responses and output audio --------------------------------------------------------------

    def _response_create(self, event: dict[str, Any]) -> None:
        if self.active is not None:
            raise ApiError(
                f"Conversation already has an active response in progress: {self.active.id}. "
                "Wait until the response is finished before creating a new one.",
                code="conversation_already_has_active_response",
            )
        params = event.get("response") or {}
        if not isinstance(params, dict):
            raise invalid_value("response", "Invalid type for 'response': expected an object.")
        modalities = params.get("output_modalities") or self.session["output_modalities"]
        if sorted(modalities) not in (["audio"], ["text"]):
            raise invalid_value("response.output_modalities", "Use either ['audio'] or ['text'].")
        audio_params = (params.get("audio") or {}).get("output") or {}
        output = self.session["audio"]["output"]
        voice = audio_params.get("voice") or session.voice_of(self.session)
        if isinstance(voice, dict):
            voice = str(voice.get("id", ""))
        run = ResponseRun(
            self,
            modalities=list(modalities),
            voice=voice,
            speed=session.speed_of(self.session),
            output_format=audio_params.get("format") or output["format"],
            max_output_tokens=params.get("max_output_tokens") or self.session["max_output_tokens"],
            metadata=params.get("metadata"),
            in_conversation=params.get("conversation", "auto") != "none",
        )
        self.active = run
        if run.has_audio:
            self._voice_locked = True
            self.last_audio = run
        run.start()

    def _response_cancel(self, event: dict[str, Any]) -> None:
        wanted = event.get("response_id")
        if self.active is None or (wanted and wanted != self.active.id):
            raise ApiError("Cancellation failed: no active response found", code="response_cancel_not_active")
        self.active.cancel("client_cancelled")

    def _output_clear(self, event: dict[str, Any]) -> None:
        """Stop the sound now: cleared, then the active response ends cancelled, then truncated."""
        self.track.flush()
        last = self.last_audio
        self.emit(E.OUTPUT_AUDIO_BUFFER_CLEARED, response_id=last.id if last is not None else "")
        if self.active is not None and self.active.has_audio:
            self.active.cancel("client_cancelled")
        if last is not None and last.segment is not None and last.segment.cut and not last.truncated:
            last.truncated = True
            if last.item is not None and last.in_conversation:
                self.emit(
                    E.CONVERSATION_ITEM_TRUNCATED,
                    item_id=last.item["id"],
                    content_index=0,
                    audio_end_ms=last.segment.played_ms,
                )

    # -- conversation items ----------------------------------------------------------------------

    def _record(self, event: dict[str, Any]) -> ItemRecord:
        item_id = event.get("item_id")
        record = self._items.get(item_id) if isinstance(item_id, str) else None
        if record is None:
            raise invalid_value("item_id", f"Item with item_id '{item_id}' not found.")
        return record

    def _item_create(self, event: dict[str, Any]) -> None:
        from openai.types.realtime import ConversationItem

        item = event.get("item")
        try:
            TypeAdapter(ConversationItem).validate_python(item)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(["item", *(str(p) for p in first["loc"])])
            raise invalid_value(where, f"Invalid value for '{where}': {first['msg']}.") from None
        assert isinstance(item, dict)
        last = next(reversed(self._items), None)
        if event.get("previous_item_id") not in (None, last):
            raise invalid_value("previous_item_id", "The stand-in only appends items at the end.")
        item = {**item, "id": item.get("id") or events.new_item_id(), "object": "realtime.item"}
        item.setdefault("status", "completed")
        if item["id"] in self._items:
            raise invalid_value("item.id", f"Item with id '{item['id']}' already exists.")
        previous = self.add_item(item)
        text = " ".join(
            str(part.get("text") or part.get("transcript") or "") for part in item.get("content") or []
        )
        record = self._items[item["id"]]
        record.text = asyncio.get_running_loop().create_future()
        record.text.set_result(text.strip())
        self.emit(E.CONVERSATION_ITEM_ADDED, previous_item_id=previous, item=item)
        self.emit(E.CONVERSATION_ITEM_DONE, previous_item_id=previous, item=item)

    def _item_retrieve(self, event: dict[str, Any]) -> None:
        self.emit(E.CONVERSATION_ITEM_RETRIEVED, item=self._record(event).item)

    def _item_delete(self, event: dict[str, Any]) -> None:
        record = self._record(event)
        del self._items[record.item["id"]]
        self.emit(E.CONVERSATION_ITEM_DELETED, item_id=record.item["id"])

    def _item_truncate(self, event: dict[str, Any]) -> None:
        record = self._record(event)
        audio_end_ms = event.get("audio_end_ms")
        if record.item.get("role") != "assistant":
            raise invalid_value("item_id", "Only assistant message items can be truncated.")
        if not isinstance(audio_end_ms, int) or not 0 <= audio_end_ms <= int(record.audio_s * 1000):
            raise invalid_value("audio_end_ms", "audio_end_ms must be within the item's audio duration.")
        self.emit(
            E.CONVERSATION_ITEM_TRUNCATED,
            item_id=record.item["id"],
            content_index=event.get("content_index", 0),
            audio_end_ms=audio_end_ms,
        )
