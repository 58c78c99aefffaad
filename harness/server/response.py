"""One model response: its events in the documented order, its audio on the track, cancellation.

Order per response (audio): response.created -> response.output_item.added -> conversation.item.added
-> response.content_part.added -> output_audio_buffer.started (first frame out) ->
response.output_audio_transcript.delta* (each word as its audio goes out) -> response.output_audio.done
-> response.output_audio_transcript.done -> response.content_part.done -> response.output_item.done ->
conversation.item.done -> response.done -> rate_limits.updated -> output_audio_buffer.stopped.

Pacing (:class:`~harness.server.config.ResponsePacing`): with ``follow_playback`` generation *is*
playback, so the response stays active until its audio has played, and cancelling it drops the
unplayed audio at once (there is nothing generated ahead). A generate-ahead mode is a second branch
in :meth:`ResponseRun._speak`: send every delta and :meth:`ResponseRun._finish` right after queueing
the audio, then await ``started``/``finished`` only for the output_audio_buffer events (and let
``output_audio_buffer.clear`` cut a finished response's audio, which the conversation already does).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from harness.protocol import SAMPLE_RATE, ServerEventType
from harness.server import events
from harness.server.audio_out import OutgoingAudioTrack, PlaybackSegment
from harness.server.config import ResponsePacing
from harness.server.ids import new_id
from harness.server.tts import Synthesizer

logger = logging.getLogger(__name__)
E = ServerEventType


class ResponseHost(Protocol):
    """What a response needs from its conversation."""

    conversation_id: str
    track: OutgoingAudioTrack
    tts: Synthesizer
    pacing: ResponsePacing

    def emit(self, type_: str, **fields: Any) -> None: ...

    def add_item(self, item: dict[str, Any], *, audio_s: float = 0.0) -> str | None: ...

    async def reply_text(self) -> str: ...

    def input_usage(self) -> tuple[int, int]: ...

    def response_finished(self, run: ResponseRun) -> None: ...


class ResponseRun:
    """A response from ``response.created`` to ``response.done`` (and the audio buffer events)."""

    def __init__(
        self,
        host: ResponseHost,
        *,
        modalities: list[str],
        voice: str,
        speed: float,
        output_format: dict[str, Any],
        max_output_tokens: int | str,
        metadata: dict[str, str] | None,
        in_conversation: bool,
    ) -> None:
        self.id = new_id("resp")
        self.host = host
        self.modalities = modalities
        self.voice = voice
        self.speed = speed
        self.output_format = output_format
        self.max_output_tokens = max_output_tokens
        self.metadata = metadata
        self.in_conversation = in_conversation
        self.item: dict[str, Any] | None = None
        self.previous_item_id: str | None = None
        self.part_added = False
        self.delivered: list[str] = []
        self.segment: PlaybackSegment | None = None
        self.truncated = False
        self.finished = False
        self._task: asyncio.Task[None] | None = None

    @property
    def has_audio(self) -> bool:
        return "audio" in self.modalities

    def start(self) -> None:
        self.host.emit(E.RESPONSE_CREATED, response=self._response("in_progress", None, []))
        self._task = asyncio.create_task(self._run(), name=f"rth-{self.id}")
        self._task.add_done_callback(self._task_done)

    def cancel(self, reason: str) -> None:
        """Stop now: drop unplayed audio, close the open item and part, ``response.done`` cancelled."""
        if self.finished:
            return
        if self._task is not None:
            self._task.cancel()
        if self.segment is not None and not self.segment.finished.done():
            self.host.track.cut(self.segment)
        self._finish("cancelled", events.cancelled_details(reason))

    async def wait(self) -> None:
        """Until the run's task has ended (finished, cancelled or failed)."""
        if self._task is not None:
            await asyncio.wait({self._task})

    async def _run(self) -> None:
        text = await self.host.reply_text()
        self._open_item()
        if self.has_audio:
            speech = await self.host.tts.synthesize(text, self.voice, self.speed)
            self.segment = self.host.track.play(speech.samples, tag=self.id)
            await self._speak(speech.words)
        else:
            for chunk in text.split(" "):
                self._delta(E.RESPONSE_OUTPUT_TEXT_DELTA, chunk if not self.delivered else " " + chunk)
            self._finish("completed", None)

    async def _speak(self, words: tuple[tuple[str, int], ...]) -> None:
        """The one place pacing decides when the response counts as generated."""
        match self.host.pacing:
            case ResponsePacing.FOLLOW_PLAYBACK:
                await self._speak_following(words)

    async def _speak_following(self, words: tuple[tuple[str, int], ...]) -> None:
        """Deltas as their words go out, the ``*.done`` chain when the audio has played out."""
        segment = self.segment
        assert segment is not None
        await asyncio.wait({segment.started, segment.finished}, return_when=asyncio.FIRST_COMPLETED)
        if segment.cut:
            return
        self.host.emit(E.OUTPUT_AUDIO_BUFFER_STARTED, response_id=self.id)
        for chunk, offset in words:
            await segment.reached(offset)
            if segment.cut:
                return
            self._delta(E.RESPONSE_OUTPUT_AUDIO_TRANSCRIPT_DELTA, chunk)
        await segment.finished
        if segment.cut:
            return
        self._finish("completed", None)
        self.host.emit(E.OUTPUT_AUDIO_BUFFER_STOPPED, response_id=self.id)

    def _open_item(self) -> None:
        item_id = events.new_item_id()
        self.item = events.assistant_item(item_id, "in_progress", [])
        self.host.emit(E.RESPONSE_OUTPUT_ITEM_ADDED, response_id=self.id, output_index=0, item=self.item)
        if self.in_conversation:
            self.previous_item_id = self.host.add_item(self.item)
            self.host.emit(E.CONVERSATION_ITEM_ADDED, previous_item_id=self.previous_item_id, item=self.item)
        self.host.emit(E.RESPONSE_CONTENT_PART_ADDED, **self._part_ids(), part=self._part(""))
        self.part_added = True

    def _delta(self, type_: str, chunk: str) -> None:
        self.delivered.append(chunk)
        self.host.emit(type_, **self._part_ids(), delta=chunk)

    def _finish(self, status: str, details: dict[str, Any] | None) -> None:
        """Close what is open, then response.done and rate_limits.updated (once)."""
        if self.finished:
            return
        self.finished = True
        text = "".join(self.delivered)
        output: list[dict[str, Any]] = []
        if self.item is not None:
            ids = self._part_ids()
            if self.part_added and self.has_audio:
                self.host.emit(E.RESPONSE_OUTPUT_AUDIO_DONE, **ids)
                self.host.emit(E.RESPONSE_OUTPUT_AUDIO_TRANSCRIPT_DONE, **ids, transcript=text)
            elif self.part_added:
                self.host.emit(E.RESPONSE_OUTPUT_TEXT_DONE, **ids, text=text)
            if self.part_added:
                self.host.emit(E.RESPONSE_CONTENT_PART_DONE, **ids, part=self._part(text))
            self.item["status"] = "completed" if status == "completed" else "incomplete"
            kind = "output_audio" if self.has_audio else "output_text"
            self.item["content"] = [{"type": kind, ("transcript" if self.has_audio else "text"): text}]
            self.host.emit(E.RESPONSE_OUTPUT_ITEM_DONE, response_id=self.id, output_index=0, item=self.item)
            if self.in_conversation:
                self.host.emit(
                    E.CONVERSATION_ITEM_DONE, previous_item_id=self.previous_item_id, item=self.item
                )
            output = [self.item]
        self.host.emit(E.RESPONSE_DONE, response=self._response(status, details, output, usage=True))
        self.host.emit(E.RATE_LIMITS_UPDATED, rate_limits=events.RATE_LIMITS)
        self.host.response_finished(self)

    @property
    def played_seconds(self) -> float:
        return self.segment.position / SAMPLE_RATE if self.segment is not None else 0.0

    def _response(
        self,
        status: str,
        details: dict[str, Any] | None,
        output: list[dict[str, Any]],
        *,
        usage: bool = False,
    ) -> dict[str, Any]:
        usage_object = None
        if usage:
            input_text, input_audio = self.host.input_usage()
            usage_object = events.response_usage(
                input_text=input_text,
                input_audio=input_audio,
                output_text=events.text_tokens("".join(self.delivered)),
                output_audio=events.audio_tokens(self.played_seconds, events.OUTPUT_AUDIO_TOKENS_PER_S),
            )
        return events.response_object(
            response_id=self.id,
            conversation_id=self.host.conversation_id if self.in_conversation else None,
            status=status,
            status_details=details,
            output=output,
            modalities=self.modalities,
            voice=self.voice,
            output_format=self.output_format,
            max_output_tokens=self.max_output_tokens,
            metadata=self.metadata,
            usage=usage_object,
        )

    def _part_ids(self) -> dict[str, Any]:
        assert self.item is not None
        return {"response_id": self.id, "item_id": self.item["id"], "output_index": 0, "content_index": 0}

    def _part(self, text: str) -> dict[str, Any]:
        return {"type": "audio", "transcript": text} if self.has_audio else {"type": "text", "text": text}

    def _task_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            logger.error("response %s failed: %s", self.id, error, exc_info=error)
            if self.segment is not None:
                self.host.track.cut(self.segment)
            self._finish(
                "failed",
                {
                    "type": "failed",
                    "error": {"type": "server_error", "code": "stand_in_error", "message": str(error)},
                },
            )
