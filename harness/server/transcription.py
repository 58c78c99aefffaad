"""Input transcription of committed user turns: recognition, the injected delay, the events.

Normal mode recognises every committed turn (the reply is built from what was heard) and sends
the transcription events when the session asks for them (``audio.input.transcription``). Load
mode recognises a turn only when the session asks for the events or the call's persona needs the
words (:attr:`Persona.needs_transcript`); otherwise the item's transcript stays null and its reply
is chosen without it (:meth:`Persona.reply_unheard`). The decision is taken at the commit. The
transcription delay is drawn and logged either way, so the timing log and the seeded jitter
streams are the same in both modes.

Load mode also recognises each distinct committed clip once per server
(:mod:`harness.server.asr_cache`): a turn whose packets fingerprint like one already recognised
takes its transcript, after the same injected delay and with the same events.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from harness.protocol import ServerEventType
from harness.server import events, session
from harness.server.asr import Recognizer
from harness.server.asr_cache import Fingerprint, TranscriptCache
from harness.server.items import ItemRecord
from harness.server.persona import Persona
from harness.server.timing import CallTiming, DelayKind, wait_until_ms

logger = logging.getLogger(__name__)
E = ServerEventType


class TranscriptionHost(Protocol):
    """What transcription needs from its conversation."""

    session: dict[str, Any]
    timing: CallTiming

    def emit(self, type_: str, **fields: Any) -> None: ...


class Transcriber:
    """Recognition of one call's committed turns (``load``: only where a turn needs it)."""

    def __init__(
        self,
        host: TranscriptionHost,
        asr: Recognizer,
        persona: Persona,
        *,
        load: bool,
        cache: TranscriptCache | None = None,
    ) -> None:
        self._host = host
        self._asr = asr
        self._persona = persona
        self._load = load
        self._cache = cache if load else None

    def needs_recognition(self) -> bool:
        """Whether a turn committed now is recognised (always, outside load mode)."""
        return (
            not self._load
            or session.transcription_enabled(self._host.session)
            or self._persona.needs_transcript
        )

    async def run(
        self, record: ItemRecord, pcm: bytes, committed_at: float, fingerprint: Fingerprint | None = None
    ) -> None:
        """Transcribe a turn committed at ``committed_at`` (monotonic), or, when load mode left
        it unrecognised, settle its text and the delay record. ``fingerprint`` (load mode) keys
        the recognition cache."""
        if record.unrecognised_speech is None:
            await self._transcribe(record, pcm, committed_at, fingerprint)
        else:
            await self._settle_unrecognised(record, committed_at)

    async def _settle_unrecognised(self, record: ItemRecord, committed_at: float) -> None:
        assert record.text is not None
        delay = self._host.timing.plan(DelayKind.TRANSCRIPTION, record.id)
        record.text.set_result("")
        await wait_until_ms(committed_at, delay.target_ms)
        delay.reached(committed_at)

    async def _recognise(self, pcm: bytes, fingerprint: Fingerprint | None) -> str:
        if self._cache is None or fingerprint is None or not pcm:
            return await self._asr.transcribe(pcm)
        return await self._cache.transcribe(fingerprint, pcm, self._asr.transcribe)

    async def _transcribe(
        self, record: ItemRecord, pcm: bytes, committed_at: float, fingerprint: Fingerprint | None
    ) -> None:
        assert record.text is not None
        host = self._host
        delay = host.timing.plan(DelayKind.TRANSCRIPTION, record.id)
        try:
            transcript = await self._recognise(pcm, fingerprint)
        except Exception as exc:
            logger.warning("transcription of %s failed: %s", record.id, exc)
            record.text.set_result("")
            if session.transcription_enabled(host.session):
                await wait_until_ms(committed_at, delay.target_ms)
                error = {
                    "type": "server_error",
                    "code": "transcription_failed",
                    "message": str(exc),
                    "param": None,
                }
                host.emit(E.INPUT_TRANSCRIPTION_FAILED, item_id=record.id, content_index=0, error=error)
            return
        record.text.set_result(transcript)
        await wait_until_ms(committed_at, delay.target_ms)
        delay.reached(committed_at)
        record.item["content"][0]["transcript"] = transcript
        if not session.transcription_enabled(host.session):
            return
        words = transcript.split()
        for i in range(0, len(words), 3):
            delta = ("" if i == 0 else " ") + " ".join(words[i : i + 3])
            host.emit(E.INPUT_TRANSCRIPTION_DELTA, item_id=record.id, content_index=0, delta=delta)
        host.emit(
            E.INPUT_TRANSCRIPTION_COMPLETED,
            item_id=record.id,
            content_index=0,
            transcript=transcript,
            usage=events.transcription_usage(record.audio_ms / 1000, transcript),
        )
