"""Token usage from ``response.done`` events: per turn, per scenario and summed over a run.

The live API bills per response; its ``response.done`` carries a ``usage`` object (the stand-in
estimates one). A turn's responses are the ones the server created while the turn ran, plus the
turn's own ``response_id``, so a retried ``response.create`` is billed to its turn too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from harness.report.model import ScenarioReport, TokenUsage
from harness.timeline import EntryKind, TimelineEntry

RESPONSE_CREATED = "response.created"
RESPONSE_DONE = "response.done"


def usage_of(response: dict[str, Any]) -> TokenUsage | None:
    """The usage object of one ``response`` (from response.done), or None when it has none."""
    usage = response.get("usage")
    if not isinstance(usage, dict):
        return None
    inputs = usage.get("input_token_details") or {}
    outputs = usage.get("output_token_details") or {}
    cached = inputs.get("cached_tokens_details") or {}
    return TokenUsage(
        responses=1,
        input_text=int(inputs.get("text_tokens") or 0),
        input_audio=int(inputs.get("audio_tokens") or 0),
        input_cached_text=int(cached.get("text_tokens") or 0),
        input_cached_audio=int(cached.get("audio_tokens") or 0),
        output_text=int(outputs.get("text_tokens") or 0),
        output_audio=int(outputs.get("audio_tokens") or 0),
    )


def add_usage(usages: Iterable[TokenUsage | None]) -> TokenUsage | None:
    """Sum token counts (and costs, when every part has one); None when there was nothing."""
    parts = [u for u in usages if u is not None]
    if not parts:
        return None
    costs = [u.cost_usd for u in parts]
    return TokenUsage(
        responses=sum(u.responses for u in parts),
        input_text=sum(u.input_text for u in parts),
        input_audio=sum(u.input_audio for u in parts),
        input_cached_text=sum(u.input_cached_text for u in parts),
        input_cached_audio=sum(u.input_cached_audio for u in parts),
        output_text=sum(u.output_text for u in parts),
        output_audio=sum(u.output_audio for u in parts),
        cost_usd=None if any(c is None for c in costs) else sum(c for c in costs if c is not None),
    )


def _done_usage(entries: Sequence[TimelineEntry]) -> dict[str, TokenUsage]:
    found: dict[str, TokenUsage] = {}
    for entry in entries:
        if entry.kind == EntryKind.RECEIVED and entry.type == RESPONSE_DONE:
            response = entry.data.get("response") or {}
            usage = usage_of(response)
            if usage is not None and response.get("id"):
                found[str(response["id"])] = usage
    return found


def attach_usage(report: ScenarioReport, entries: Sequence[TimelineEntry]) -> None:
    """Fill ``usage`` on the scenario and its turns from the session's timeline."""
    by_response = _done_usage(entries)
    created: dict[int, set[str]] = {}
    for entry in entries:
        if entry.kind == EntryKind.RECEIVED and entry.type == RESPONSE_CREATED and entry.turn is not None:
            response_id = (entry.data.get("response") or {}).get("id")
            if response_id:
                created.setdefault(entry.turn, set()).add(str(response_id))
    for turn in report.turns:
        ids = created.get(turn.index, set()) | ({turn.response_id} if turn.response_id else set())
        turn.usage = add_usage(by_response.get(response_id) for response_id in sorted(ids))
    report.usage = add_usage(by_response.values())
