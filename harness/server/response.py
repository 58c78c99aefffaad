"""One model response: its events in the API's order, its audio on the track, cancellation.

Order per audio response (``realtime`` pacing, the documented order): response.created ->
response.output_item.added -> conversation.item.added -> response.content_part.added ->
output_audio_buffer.started (first frame out) -> response.output_audio_transcript.delta* (each word
as its audio goes out) -> response.output_audio.done -> response.output_audio_transcript.done ->
response.content_part.done -> response.output_item.done -> conversation.item.done ->
response.done -> rate_limits.updated -> output_audio_buffer.stopped.

``ahead`` pacing (the default, as observed on the live API): the reply is "generated"
``generation_speed`` times faster than it plays, starting :data:`LEAD_S` ahead of playback, so
the first transcript deltas precede output_audio_buffer.started, response.done arrives while the
audio still plays, and output_audio_buffer.stopped follows when it ends. ``response.cancel`` then
only works while generating: it stops generation, and the audio generated so far plays out.

The switch point is :meth:`ResponseRun._speak`; the playback watcher (started/stopped, first-audio
timing) outlives the response, because the audio does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from harness.protocol import SAMPLE_RATE, ServerEventType
from harness.server import events
from harness.server.audio_out import PlaybackSegment, ReplyTrack
from harness.server.config import ResponsePacing
from harness.server.ids import new_id, random_alphanumerics
from harness.server.opus_replies import EncodedVoice
from harness.server.timing import CallTiming, DelayKind, TimingRecord, wait_until_ms
from harness.server.tts import Synthesizer

logger = logging.getLogger(__name__)
E = ServerEventType
LEAD_S = 0.3  # generate-ahead: audio generated before playback starts
SENT_WAIT_S = 10.0  # how long first audio waits to see its packet leave (an encoder backlog under load)


def obfuscation(chunk: str) -> str:
    """Random padding that hides the delta's length, as the live API adds to every delta."""
    return random_alphanumerics(max(2, 16 - len(chunk)))


@dataclass(frozen=True)
class ResponseOptions:
    """What ``response.create`` (or an automatic turn) asked for, resolved against the session."""

    modalities: list[str]
    voice: str
    speed: float
    output_format: dict[str, Any]
    max_output_tokens: int | str
    metadata: dict[str, str] | None
    in_conversation: bool
    instructions: str | None = None
    input_items: list[dict[str, Any]] | None = None


class ResponseHost(Protocol):
    """What a response needs from its conversation."""

    conversation_id: str
    track: ReplyTrack
    tts: Synthesizer | EncodedVoice
    pacing: ResponsePacing
    generation_speed: float
    timing: CallTiming

    def emit(self, type_: str, **fields: Any) -> None: ...

    def spawn(self, coroutine: Coroutine[Any, Any, Any], name: str) -> None: ...

    def add_assistant_item(self, run: ResponseRun) -> str | None: ...

    async def reply_text(self, run: ResponseRun) -> str: ...

    def input_usage(self) -> tuple[int, int]: ...

    def response_finished(self, run: ResponseRun) -> None: ...

    def playback_finished(self, run: ResponseRun) -> None: ...


class ResponseRun:
    """A response from ``response.created`` to ``response.done`` (and the audio buffer events)."""

    def __init__(self, host: ResponseHost, options: ResponseOptions) -> None:
        self.id = new_id("resp")
        self.host = host
        self.options = options
        self.item: dict[str, Any] | None = None
        self.previous_item_id: str | None = None
        self.part_added = False
        self.delivered: list[str] = []
        self.segment: PlaybackSegment | None = None
        self.truncated = False
        self.finished = False
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.created_at = 0.0
        self._generation_start = 0.0
        self._generated_samples: int | None = None
        self._first_audio: TimingRecord | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def has_audio(self) -> bool:
        return "audio" in self.options.modalities

    @property
    def in_conversation(self) -> bool:
        return self.options.in_conversation

    @property
    def playing(self) -> bool:
        """Its audio is queued or sounding (not yet played out or cut)."""
        return self.segment is not None and not self.segment.finished.done()

    def start(self) -> None:
        self.created_at = time.monotonic()
        self.host.emit(E.RESPONSE_CREATED, response=self._response("in_progress", None, []))
        self._task = asyncio.create_task(self._run(), name=f"rth-{self.id}")
        self._task.add_done_callback(self._task_done)

    def cancel(self, reason: str) -> None:
        """Stop generating: close the open item and part, ``response.done`` cancelled.

        ``realtime`` pacing drops the unplayed audio at once (nothing was generated ahead);
        ``ahead`` pacing keeps the audio generated so far queued (only output_audio_buffer.clear
        or a barge-in silences it).
        """
        if self.finished:
            return
        if self._task is not None:
            self._task.cancel()
        segment = self.segment
        if segment is not None and not segment.finished.done():
            if self.host.pacing is ResponsePacing.GENERATE_AHEAD:
                self._generated_samples = self._generated_now()
                self.host.track.limit(segment, self._generated_samples)
            else:
                self.host.track.cut(segment)
        self._finish("cancelled", events.cancelled_details(reason))

    async def wait(self) -> None:
        """Until the run's task has ended (finished, cancelled or failed)."""
        if self._task is not None:
            await asyncio.wait({self._task})

    async def _run(self) -> None:
        text = await self.host.reply_text(self)
        speech = None
        if self.has_audio:
            speech = await self.host.tts.synthesize(text, self.options.voice, self.options.speed)
        self._first_audio = self.host.timing.plan(DelayKind.FIRST_AUDIO, self.id)
        await wait_until_ms(self.created_at, self._first_audio.target_ms)
        self._open_item()
        if speech is None:
            for chunk in text.split(" "):
                self._delta(E.RESPONSE_OUTPUT_TEXT_DELTA, chunk if not self.delivered else " " + chunk)
            self._first_audio.reached(self.created_at)
            self._finish("completed", None)
            return
        self.segment = self.host.track.play(speech, tag=self.id)
        self._generation_start = time.monotonic()
        self.host.spawn(self._watch_playback(), name=f"rth-playback-{self.id}")
        await self._speak(speech.words)

    async def _speak(self, words: tuple[tuple[str, int], ...]) -> None:
        """The one place pacing decides when the response counts as generated."""
        match self.host.pacing:
            case ResponsePacing.GENERATE_AHEAD:
                await self._speak_ahead(words)
            case ResponsePacing.FOLLOW_PLAYBACK:
                await self._speak_following(words)

    def _generation_rate(self) -> float:
        return SAMPLE_RATE * self.host.generation_speed

    def _generated_now(self) -> int:
        """Samples generated so far (ahead pacing): the lead plus speed x time since queueing."""
        assert self.segment is not None
        elapsed = time.monotonic() - self._generation_start
        generated = int(LEAD_S * SAMPLE_RATE + elapsed * self._generation_rate())
        return max(self.segment.position, min(generated, self.segment.length))

    async def _speak_ahead(self, words: tuple[tuple[str, int], ...]) -> None:
        """Deltas at generation pace (the first ones before playback starts), then the ``*.done``."""
        segment = self.segment
        assert segment is not None
        lead = int(LEAD_S * SAMPLE_RATE)
        rate = self._generation_rate()
        for chunk, offset in words:
            await wait_until_ms(self._generation_start, max(0, offset - lead) / rate * 1000)
            self._delta(E.RESPONSE_OUTPUT_AUDIO_TRANSCRIPT_DELTA, chunk)
        await wait_until_ms(self._generation_start, max(0, segment.length - lead) / rate * 1000)
        self._generated_samples = segment.length
        self._finish("completed", None)

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

    async def _watch_playback(self) -> None:
        """started (ahead pacing), the first-audio time, stopped after response.done unless cut."""
        segment = self.segment
        assert segment is not None
        await asyncio.wait({segment.started, segment.finished}, return_when=asyncio.FIRST_COMPLETED)
        if segment.started.done() and segment.position > 0 and self._first_audio is not None:
            self.host.spawn(self._record_first_audio(segment, self._first_audio), name=f"rth-sent-{self.id}")
        if self.host.pacing is ResponsePacing.GENERATE_AHEAD and not segment.cut:
            self.host.emit(E.OUTPUT_AUDIO_BUFFER_STARTED, response_id=self.id)
        await segment.finished
        await asyncio.shield(self.done)
        if not segment.cut:
            self.host.emit(E.OUTPUT_AUDIO_BUFFER_STOPPED, response_id=self.id)
        self.host.playback_finished(self)

    async def _record_first_audio(self, segment: PlaybackSegment, record: TimingRecord) -> None:
        """First audio is when its packet left (harness.server.send_clock); the frame's hand-over
        to the sender if no packet is seen in time (nobody pulls the track)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(segment.sent), SENT_WAIT_S)
        record.reached(self.created_at, segment.sent_at or segment.started_at)

    def _open_item(self) -> None:
        self.item = events.assistant_item(events.new_item_id(), "in_progress", [])
        self.host.emit(E.RESPONSE_OUTPUT_ITEM_ADDED, response_id=self.id, output_index=0, item=self.item)
        if self.in_conversation:
            self.previous_item_id = self.host.add_assistant_item(self)
            self.host.emit(E.CONVERSATION_ITEM_ADDED, previous_item_id=self.previous_item_id, item=self.item)
        self.host.emit(E.RESPONSE_CONTENT_PART_ADDED, **self._part_ids(), part=self._part(""))
        self.part_added = True

    def _delta(self, type_: str, chunk: str) -> None:
        """A delta with the live API's ``obfuscation`` padding (clients must ignore unknown fields)."""
        self.delivered.append(chunk)
        self.host.emit(type_, **self._part_ids(), delta=chunk, obfuscation=obfuscation(chunk))

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
        self.host.response_finished(self)
        self.host.emit(E.RESPONSE_DONE, response=self._response(status, details, output, usage=True))
        self.host.emit(E.RATE_LIMITS_UPDATED, rate_limits=events.RATE_LIMITS)
        if not self.done.done():
            self.done.set_result(None)
        if self.segment is None:
            self.host.playback_finished(self)

    @property
    def generated_seconds(self) -> float:
        """Audio generated (what usage bills and truncation is bounded by)."""
        if self.segment is None:
            return 0.0
        if self._generated_samples is not None:
            return self._generated_samples / SAMPLE_RATE
        if self.host.pacing is ResponsePacing.GENERATE_AHEAD and not self.finished:
            return self._generated_now() / SAMPLE_RATE
        return self.segment.position / SAMPLE_RATE

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
                input_text=input_text + events.text_tokens(self.options.instructions),
                input_audio=input_audio,
                output_text=events.text_tokens("".join(self.delivered)),
                output_audio=events.audio_tokens(self.generated_seconds, events.OUTPUT_AUDIO_TOKENS_PER_S),
            )
        return events.response_object(
            response_id=self.id,
            conversation_id=self.host.conversation_id if self.in_conversation else None,
            status=status,
            status_details=details,
            output=output,
            modalities=self.options.modalities,
            voice=self.options.voice,
            output_format=self.options.output_format,
            max_output_tokens=self.options.max_output_tokens,
            metadata=self.options.metadata,
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
