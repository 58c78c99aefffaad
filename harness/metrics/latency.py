"""Connect-phase and per-turn latencies of one session, read off its timeline.

Every figure is ``(end.t - start.t) * 1000`` in milliseconds, rounded to 0.001 ms (the timeline's
1 µs resolution), or None when either end is missing. Definitions are in ``docs/metrics.md``; the
names below are stable keys for reports and thresholds.

Anchors (the start of a per-turn figure) are *sent* events tagged with the turn; in a turn with no
client commit / response.create (server VAD ended it), the server's ``speech_stopped`` stands in.
Server events are matched to anchors by id (``item_id``, ``response_id``) or, where the event
carries none, by position after the anchor — never by their own ``turn`` tag, because late events
(input transcription above all) land in a later turn or in none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.metrics._index import TimelineIndex, response_id_of, text
from harness.protocol import ClientEventType, ConnectMetric, Milestone, ServerEventType, TurnMetric
from harness.timeline import EntryKind, TimelineEntry

E, C = ServerEventType, ClientEventType
TRANSCRIPT_DELTAS = (E.RESPONSE_OUTPUT_AUDIO_TRANSCRIPT_DELTA, E.RESPONSE_OUTPUT_TEXT_DELTA)

ROLE_TURN, ROLE_BARGE_IN = "turn", "barge_in"

SPEECH_END_KEY = "speech_end_t"
"""Older form, still read: timeline seconds of the speech end in the ``audio.input.end`` data."""


@dataclass(frozen=True, slots=True)
class TurnLatency:
    """Latencies of one turn, keyed by :class:`TurnMetric` values (every key present)."""

    turn: int
    item_id: str | None  # the committed user item the transcript was matched on
    response_id: str | None  # the response the response/audio events were matched on
    metrics: Mapping[str, float | None] = field(default_factory=dict)

    def __getitem__(self, name: str) -> float | None:
        return self.metrics[name]

    def to_dict(self) -> dict[str, Any]:
        return {
            "turn": self.turn,
            "item_id": self.item_id,
            "response_id": self.response_id,
            **dict(self.metrics),
        }


@dataclass(frozen=True, slots=True)
class SessionLatency:
    connect: Mapping[str, float | None]
    turns: tuple[TurnLatency, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"connect": dict(self.connect), "turns": [turn.to_dict() for turn in self.turns]}


def _ms(start: float | None, end: float | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start) * 1000.0, 3)


def connect_latency(entries: Iterable[TimelineEntry]) -> dict[str, float | None]:
    """Connect phases from the ``connect.*`` milestones and the first session events."""
    return _connect_latency(TimelineIndex(entries))


def _connect_latency(index: TimelineIndex) -> dict[str, float | None]:
    def at(milestone: Milestone) -> float | None:
        return index.t(index.first(EntryKind.MILESTONE, milestone))

    start, answer, peer = (
        at(Milestone.CONNECT_START),
        at(Milestone.SDP_ANSWER_RECEIVED),
        at(Milestone.PEER_CONNECTED),
    )
    channel = at(Milestone.CHANNEL_OPEN)
    created = index.t(index.first(EntryKind.RECEIVED, E.SESSION_CREATED))
    ready = at(Milestone.SESSION_READY)
    if ready is None:
        ready = index.t(index.first(EntryKind.RECEIVED, E.SESSION_UPDATED))
    return {
        ConnectMetric.CLIENT_SECRET.value: _ms(start, at(Milestone.CLIENT_SECRET_CREATED)),
        ConnectMetric.SDP_EXCHANGE.value: _ms(at(Milestone.SDP_OFFER_CREATED), answer),
        ConnectMetric.ICE.value: _ms(answer, at(Milestone.ICE_CONNECTED)),
        ConnectMetric.PEER.value: _ms(answer, peer),
        ConnectMetric.CHANNEL_OPEN.value: _ms(peer, channel),
        ConnectMetric.SESSION_CREATED.value: _ms(channel, created),
        ConnectMetric.SESSION_READY.value: _ms(created, ready),
        ConnectMetric.TOTAL.value: _ms(start, ready),
    }


def _first_accepted(index: TimelineIndex, turn: int, type_: str) -> int | None:
    """The turn's first sent event of that type that no ``error`` rejected by its event_id."""
    return index.first(EntryKind.SENT, type_, where=lambda e: e.turn == turn and not index.rejected(e))


def _speech_stopped(index: TimelineIndex, turn: int) -> int | None:
    """The server VAD's end of the user's turn: the first ``speech_stopped`` within the turn."""
    start, stop = index.turn_span(turn)
    return index.first(EntryKind.RECEIVED, E.INPUT_AUDIO_BUFFER_SPEECH_STOPPED, start=start, stop=stop)


def _input_metrics(index: TimelineIndex, turn: int) -> tuple[str | None, dict[str, float | None]]:
    """commit (or speech_stopped) -> committed (the first one before the next commit) -> transcript
    of that item_id."""
    commit = _first_accepted(index, turn, C.INPUT_AUDIO_BUFFER_COMMIT)
    if commit is None:
        commit = _speech_stopped(index, turn)
    if commit is None:
        return None, {TurnMetric.COMMIT_TO_COMMITTED: None, TurnMetric.COMMIT_TO_TRANSCRIPT: None}
    next_commit = index.first(EntryKind.SENT, C.INPUT_AUDIO_BUFFER_COMMIT, start=commit + 1)
    committed = index.first(
        EntryKind.RECEIVED, E.INPUT_AUDIO_BUFFER_COMMITTED, start=commit + 1, stop=next_commit
    )
    item_id = None if committed is None else text(index.entries[committed].data.get("item_id"))
    t0 = index.t(commit)
    return item_id, {
        TurnMetric.COMMIT_TO_COMMITTED: _ms(t0, index.t(committed)),
        TurnMetric.COMMIT_TO_TRANSCRIPT: _ms(
            t0, index.t(index.with_item(item_id, E.INPUT_TRANSCRIPTION_COMPLETED))
        ),
    }


def response_anchor(index: TimelineIndex, turn: int) -> int | None:
    """The turn's accepted response.create, else (server VAD answered by itself) its speech_stopped."""
    create = _first_accepted(index, turn, C.RESPONSE_CREATE)
    return create if create is not None else _speech_stopped(index, turn)


def _response_metrics(
    index: TimelineIndex, turn: int, create: int | None
) -> tuple[str | None, dict[str, float | None]]:
    """response.create -> its response.created, then everything carrying that response id."""
    if create is None:
        names = (
            TurnMetric.RESPONSE_CREATED,
            TurnMetric.FIRST_TRANSCRIPT_DELTA,
            TurnMetric.AUDIO_STARTED,
            TurnMetric.FIRST_AUDIO,
            TurnMetric.RESPONSE_DONE,
            TurnMetric.AUDIO_STOPPED,
        )
        return None, dict.fromkeys(names)
    next_create = index.first(EntryKind.SENT, C.RESPONSE_CREATE, start=create + 1)
    created = index.first(EntryKind.RECEIVED, E.RESPONSE_CREATED, start=create + 1, stop=next_create)
    response_id = None if created is None else response_id_of(index.entries[created])
    # Audio onsets carry no id: the first after the create, before any other response can exist
    # (the next create sent, or a response.created of another id, e.g. one server VAD started).
    other_created = index.first(
        EntryKind.RECEIVED,
        E.RESPONSE_CREATED,
        start=create + 1,
        where=lambda e: response_id_of(e) != response_id,
    )
    stops = [i for i in (next_create, other_created) if i is not None]
    onset = index.first(
        EntryKind.MILESTONE, Milestone.OUTPUT_AUDIO_ONSET, start=create + 1, stop=min(stops, default=None)
    )
    t0 = index.t(create)
    return response_id, {
        TurnMetric.RESPONSE_CREATED: _ms(t0, index.t(created)),
        TurnMetric.FIRST_TRANSCRIPT_DELTA: _ms(
            t0, index.t(index.with_response(response_id, *TRANSCRIPT_DELTAS))
        ),
        TurnMetric.AUDIO_STARTED: _ms(
            t0, index.t(index.with_response(response_id, E.OUTPUT_AUDIO_BUFFER_STARTED))
        ),
        TurnMetric.FIRST_AUDIO: _ms(t0, index.t(onset)),
        TurnMetric.RESPONSE_DONE: _ms(t0, index.t(index.with_response(response_id, E.RESPONSE_DONE))),
        TurnMetric.AUDIO_STOPPED: _ms(
            t0, index.t(index.with_response(response_id, E.OUTPUT_AUDIO_BUFFER_STOPPED))
        ),
    }


def _stop_time(index: TimelineIndex, start: int | None, response_id: str | None, floor: int) -> float | None:
    """``start`` (an interruption) -> the last output offset of the audio playing, before another
    response's response.created (a new response's audio cannot precede it). Residual audio may flap
    on and off: the last offset counts. 0 when the reply was already silent at ``start`` (in a pause)
    and never sounded again; None when no audio played since ``floor`` (the turn's response anchor)."""
    if start is None:
        return None
    next_response = index.first(
        EntryKind.RECEIVED,
        E.RESPONSE_CREATED,
        start=start + 1,
        where=lambda e: response_id_of(e) != response_id,
    )
    offset = index.last(EntryKind.MILESTONE, Milestone.OUTPUT_AUDIO_OFFSET, start=floor, stop=next_response)
    if offset is None:
        return None
    return 0.0 if offset < start else _ms(index.t(start), index.t(offset))


def _first_interruption(index: TimelineIndex, turn: int) -> int | None:
    """The turn's first sent response.cancel or output_audio_buffer.clear."""
    return index.first(
        EntryKind.SENT, C.RESPONSE_CANCEL, C.OUTPUT_AUDIO_BUFFER_CLEAR, where=lambda e: e.turn == turn
    )


def _speech_milestone(index: TimelineIndex, turn: int, type_: str, role: str) -> int | None:
    return index.first(
        EntryKind.MILESTONE,
        type_,
        where=lambda e: e.turn == turn and e.data.get("role", ROLE_TURN) == role,
    )


def _speech_end(index: TimelineIndex, turn: int) -> tuple[int, float] | None:
    """Where the user's speech ended: the runner's speech-end milestone, else the older
    ``speech_end_t`` in ``audio.input.end``, else that milestone's own time."""
    marked = _speech_milestone(index, turn, Milestone.INPUT_SPEECH_END, ROLE_TURN)
    if marked is not None:
        return marked, index.entries[marked].t
    end = index.last(EntryKind.MILESTONE, Milestone.INPUT_AUDIO_END, where=lambda e: e.turn == turn)
    if end is None:
        return None
    value = index.entries[end].data.get(SPEECH_END_KEY)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return end, float(value)
    return end, index.entries[end].t


def _voice_to_voice(index: TimelineIndex, turn: int) -> float | None:
    """End of user speech -> first output onset at or after it, before the next user audio starts."""
    found = _speech_end(index, turn)
    if found is None:
        return None
    position, speech_end = found
    next_input = index.t(index.first(EntryKind.MILESTONE, Milestone.INPUT_AUDIO_START, start=position + 1))
    onset = index.first(
        EntryKind.MILESTONE,
        Milestone.OUTPUT_AUDIO_ONSET,
        where=lambda e: e.t >= speech_end and (next_input is None or e.t < next_input),
    )
    return _ms(speech_end, index.t(onset))


def turn_latencies(entries: Iterable[TimelineEntry]) -> list[TurnLatency]:
    """One :class:`TurnLatency` per turn number found on any entry, in turn order."""
    return _turn_latencies(TimelineIndex(entries))


def _turn_latencies(index: TimelineIndex) -> list[TurnLatency]:
    results: list[TurnLatency] = []
    for turn in index.turns():
        item_id, input_metrics = _input_metrics(index, turn)
        anchor = response_anchor(index, turn)
        response_id, response_metrics = _response_metrics(index, turn, anchor)
        metrics: dict[str, float | None] = {name.value: None for name in TurnMetric}
        metrics.update({str(name): value for name, value in {**input_metrics, **response_metrics}.items()})
        floor = anchor if anchor is not None else index.turn_span(turn)[0]
        cancel = _first_interruption(index, turn)
        barge_in = _speech_milestone(index, turn, Milestone.INPUT_SPEECH_START, ROLE_BARGE_IN)
        metrics[TurnMetric.CANCEL_TO_SILENCE.value] = _stop_time(index, cancel, response_id, floor)
        metrics[TurnMetric.BARGE_IN_TO_SILENCE.value] = _stop_time(index, barge_in, response_id, floor)
        metrics[TurnMetric.VOICE_TO_VOICE.value] = _voice_to_voice(index, turn)
        results.append(TurnLatency(turn=turn, item_id=item_id, response_id=response_id, metrics=metrics))
    return results


def session_latency(entries: Iterable[TimelineEntry]) -> SessionLatency:
    """Connect phases and per-turn latencies of one session."""
    index = TimelineIndex(entries)  # sorted and indexed once for both
    return SessionLatency(connect=_connect_latency(index), turns=tuple(_turn_latencies(index)))
