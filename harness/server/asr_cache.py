"""Load mode: each distinct committed clip is recognised once per server process.

In a load test every session sends the same clips, and ``rth load`` sends them pre-encoded: the
Opus packets of one clip are byte-identical in every session, and the silence between clips is
one packet repeated. Recognition (pocketsphinx, ~0.45 s of CPU per sentence) is then the same
work done again and again, and the reply waits for it.

- :class:`PacketLog` (one per call, kept by the input buffer and fed by the
  :class:`~harness.server.decode_gate.DecodeGate`) records a digest of every Opus payload
  received since the last commit or clear, on the call's audio clock. At the commit,
  :meth:`PacketLog.fingerprint` hashes the speech packets of the committed span: runs of
  silence at its edges are left out and one inside counts as a gap, whatever its length (the
  silence around and between clips varies with the client's timing; the clips do not).
  Silence is a payload seen at least :data:`SILENCE_RUN` times in a row (an encoder sending a
  steady silent stream repeats its packet; learnt across the server's calls), or one of at
  most two bytes (a TOC-only / DTX frame). The key also holds the speech packet count and
  their total length: any differing speech packet, a different clip or a normally-encoded
  stream gives another key, a miss, never a false hit.
- :class:`TranscriptCache` (one per server) maps fingerprints to transcripts, bounded (least
  recently used first out); concurrent misses for one fingerprint share one recognition.

A span with audio that was not decoded (decoding switched on mid-turn) or that outgrew the log
gets no fingerprint, and is recognised as it is.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import NamedTuple

SILENCE_RUN = 3
SHORT_PAYLOAD = 2
DEFAULT_CACHE_SIZE = 256
_MAX_SILENT = 16


class Fingerprint(NamedTuple):
    """What a committed turn's speech packets hash to: digest, packet count, total bytes."""

    digest: bytes
    packets: int
    length: int


@dataclass(frozen=True)
class _Entry:
    start_ms: float
    end_ms: float
    digest: bytes
    length: int
    decoded: bool


def _digest(payload: bytes) -> bytes:
    return hashlib.blake2b(payload, digest_size=16).digest()


class PacketLog:
    """Digests of one call's incoming packets since the last commit or clear (bounded)."""

    def __init__(self, max_packets: int, silent: set[bytes] | None = None) -> None:
        self._entries: deque[_Entry] = deque()
        self._max = max(1, max_packets)
        self._dropped_to_ms: float | None = None
        self._silent: set[bytes] = set() if silent is None else silent
        self._last: bytes | None = None
        self._run = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def silent_payloads(self) -> int:
        return len(self._silent)

    def record(self, payload: bytes, start_ms: float, duration_ms: float, *, decoded: bool) -> None:
        """One packet arrived at ``start_ms`` on the audio clock; ``decoded``: its sound is buffered."""
        digest = _digest(payload)
        self._run = self._run + 1 if digest == self._last else 1
        self._last = digest
        if (self._run == SILENCE_RUN or len(payload) <= SHORT_PAYLOAD) and len(self._silent) < _MAX_SILENT:
            self._silent.add(digest)
        if len(self._entries) >= self._max:
            self._dropped_to_ms = self._entries.popleft().end_ms
        self._entries.append(_Entry(start_ms, start_ms + duration_ms, digest, len(payload), decoded))

    def clear(self) -> None:
        """The buffer was committed or cleared (what counts as silence is kept: it is the call's)."""
        self._entries.clear()
        self._dropped_to_ms = None

    def fingerprint(self, from_ms: float) -> Fingerprint | None:
        """The packets ending after ``from_ms``, silent edges stripped; None when nothing but
        silence is left, part of it was not decoded, or the log dropped part of the span."""
        if self._dropped_to_ms is not None and self._dropped_to_ms > from_ms:
            return None
        span = [entry for entry in self._entries if entry.end_ms > from_ms]
        start, end = 0, len(span)
        while start < end and span[start].digest in self._silent:
            start += 1
        while end > start and span[end - 1].digest in self._silent:
            end -= 1
        core = span[start:end]
        if not core or not all(entry.decoded for entry in core):
            return None
        hasher = hashlib.blake2b(digest_size=16)
        speech, length, in_gap = 0, 0, False
        for entry in core:
            if entry.digest in self._silent:  # a gap counts, not its length
                if not in_gap:
                    hasher.update(b"gap")
                in_gap = True
                continue
            in_gap = False
            hasher.update(entry.digest)
            speech += 1
            length += entry.length
        return Fingerprint(hasher.digest(), speech, length)


Recognise = Callable[[bytes], Awaitable[str]]


class TranscriptCache:
    """Fingerprint -> transcript for one server, bounded; counts what it saved (tests, benchmarks).

    ``recognitions`` is how many times the recogniser ran through the cache (misses),
    ``hits`` how many turns took a stored transcript, ``shared`` how many joined a recognition
    already running for the same fingerprint.
    """

    def __init__(self, size: int = DEFAULT_CACHE_SIZE) -> None:
        self._entries: OrderedDict[Fingerprint, str] = OrderedDict()
        self._size = max(1, size)
        self._pending: dict[Fingerprint, asyncio.Task[str]] = {}
        self.silent_payloads: set[bytes] = set()  # shared by the calls' packet logs
        self.hits = 0
        self.shared = 0
        self.recognitions = 0

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget every stored transcript (recognitions in flight still store theirs)."""
        self._entries.clear()

    async def transcribe(self, key: Fingerprint, pcm: bytes, recognise: Recognise) -> str:
        """The transcript stored for ``key``, else ``recognise(pcm)`` (once for concurrent callers)."""
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
            self.hits += 1
            return found
        task = self._pending.get(key)
        if task is None:
            self.recognitions += 1
            task = asyncio.create_task(self._recognise(key, pcm, recognise), name="rth-asr-cached")
            self._pending[key] = task
            task.add_done_callback(lambda _: self._pending.pop(key, None))
        else:
            self.shared += 1
        # One caller giving up (a call hung up) must not cancel the others' shared recognition.
        return await asyncio.shield(task)

    async def _recognise(self, key: Fingerprint, pcm: bytes, recognise: Recognise) -> str:
        transcript = await recognise(pcm)  # a failure is not stored: the next turn tries again
        self._entries[key] = transcript
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return transcript

    async def close(self) -> None:
        """Cancel recognitions nobody waits for any more (the server is stopping)."""
        tasks = list(self._pending.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
