"""Token usage of one ``response.done`` and sums of usages (per turn, scenario and run).

Which responses belong to which turn is scoring's business (:mod:`harness.scoring.usage`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from harness.report.model import TokenUsage


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
