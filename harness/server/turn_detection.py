"""Server-side turn detection of one call: VAD events, automatic commits, responses and barge-in.

Listens on the input audio buffer (:attr:`InputAudioBuffer.listeners`), cuts the 16 kHz stream
into 20 ms frames on the call's audio clock and feeds :class:`~harness.server.vad.Segmenter`.
What follows a VAD decision is the API's documented behaviour:

- speech start: ``input_audio_buffer.speech_started`` (naming the item the turn will become),
  then, with ``interrupt_response``, a barge-in (output audio cleared, active response cancelled
  with reason ``turn_detected``, the assistant item truncated to what was heard);
- speech stop: ``input_audio_buffer.speech_stopped``, the commit of the audio from
  ``audio_start_ms`` on, then a response when ``create_response`` is set and none is active;
- ``idle_timeout_ms`` (server_vad): armed when the last response's audio has played out;
  after that much audio without speech, ``input_audio_buffer.timeout_triggered``, a commit of
  the silent audio and a response.
"""

from __future__ import annotations

from typing import Any, Protocol

from harness.protocol import ServerEventType
from harness.server.events import new_item_id
from harness.server.vad import FRAME_BYTES, FRAME_MS, Segmenter, SpeechStarted, SpeechStopped, VadParams

E = ServerEventType


class TurnHost(Protocol):
    """What turn detection drives in its conversation."""

    def emit(self, type_: str, **fields: Any) -> None: ...

    def commit(
        self,
        item_id: str | None = None,
        *,
        from_ms: float | None = None,
        force: bool = False,
        speech: bool = True,
    ) -> str: ...

    def barge_in(self) -> None: ...

    def auto_respond(self) -> None: ...

    def audio_clock_ms(self) -> float: ...


class TurnDetector:
    """VAD state of one call; inactive while the session's ``turn_detection`` is null."""

    def __init__(self, host: TurnHost) -> None:
        self._host = host
        self._segmenter: Segmenter | None = None
        self._pending = bytearray()
        self._pending_start_ms = 0.0
        self._item_id: str | None = None
        self._turn_start_ms = 0
        self._idle_from_ms: float | None = None

    @property
    def params(self) -> VadParams | None:
        return self._segmenter.params if self._segmenter is not None else None

    @property
    def in_speech(self) -> bool:
        return self._segmenter is not None and self._segmenter.in_speech

    def configure(self, turn_detection: Any) -> None:
        """Apply the session's ``turn_detection`` (a change of settings forgets a turn in progress)."""
        params = VadParams.from_session(turn_detection)
        if params == self.params:
            return
        self._idle_from_ms = None
        self._item_id = None
        self._segmenter = Segmenter(params) if params is not None else None
        if self._segmenter is not None:
            self._segmenter.reset(int(self._host.audio_clock_ms()))

    def reset(self) -> None:
        """The buffer was committed or cleared by the client: any turn in progress is gone."""
        self._item_id = None
        if self._segmenter is not None:
            self._segmenter.reset(int(self._host.audio_clock_ms()))

    def arm_idle_timeout(self) -> None:
        """The assistant's audio has played out: start counting silence for ``idle_timeout_ms``."""
        params = self.params
        if params is not None and params.idle_timeout_ms and not self.in_speech:
            self._idle_from_ms = self._host.audio_clock_ms()

    def disarm_idle_timeout(self) -> None:
        self._idle_from_ms = None

    def on_audio(self, pcm: bytes, at_ms: float) -> None:
        """An :class:`InputAudioBuffer` listener: ``pcm`` is 16 kHz mono s16 starting at ``at_ms``."""
        if self._segmenter is None:
            return
        if not self._pending:
            self._pending_start_ms = at_ms
        self._pending += pcm
        while len(self._pending) >= FRAME_BYTES and self._segmenter is not None:
            frame = bytes(self._pending[:FRAME_BYTES])
            del self._pending[:FRAME_BYTES]
            start = self._pending_start_ms
            self._pending_start_ms += FRAME_MS
            event = self._segmenter.feed(frame, round(start))
            if isinstance(event, SpeechStarted):
                self._speech_started(event)
            elif isinstance(event, SpeechStopped):
                self._speech_stopped(event)
            self._check_idle(start + FRAME_MS)

    def _speech_started(self, event: SpeechStarted) -> None:
        assert self._segmenter is not None
        self._idle_from_ms = None
        self._item_id = new_item_id()
        self._turn_start_ms = event.audio_start_ms
        self._host.emit(
            E.INPUT_AUDIO_BUFFER_SPEECH_STARTED, audio_start_ms=event.audio_start_ms, item_id=self._item_id
        )
        if self._segmenter.params.interrupt_response:
            self._host.barge_in()

    def _speech_stopped(self, event: SpeechStopped) -> None:
        assert self._segmenter is not None
        item_id = self._item_id or new_item_id()
        self._item_id = None
        self._host.emit(E.INPUT_AUDIO_BUFFER_SPEECH_STOPPED, audio_end_ms=event.audio_end_ms, item_id=item_id)
        self._host.commit(item_id, from_ms=self._turn_start_ms, force=True)
        self._segmenter.floor_ms = event.audio_end_ms
        if self._segmenter.params.create_response:
            self._host.auto_respond()

    def _check_idle(self, now_ms: float) -> None:
        params = self.params
        since = self._idle_from_ms
        if params is None or since is None or not params.idle_timeout_ms or self.in_speech:
            return
        if now_ms - since < params.idle_timeout_ms:
            return
        self._idle_from_ms = None
        item_id = new_item_id()
        self._host.emit(
            E.INPUT_AUDIO_BUFFER_TIMEOUT_TRIGGERED,
            audio_start_ms=int(since),
            audio_end_ms=int(now_ms),
            item_id=item_id,
        )
        self._host.commit(item_id, from_ms=since, force=True, speech=False)
        if self._segmenter is not None:
            self._segmenter.reset(int(now_ms))
        self._host.auto_respond()
