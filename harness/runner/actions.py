"""Carry out a turn's actions: each sends client events, waits, or speaks over the assistant.

Waits look at events received at or after the *anchor*: the turn's start, then the moment the
last event was sent (or the barge-in started), so a wait never returns an event that answered an
earlier action, yet sees events that arrived while the script was busy (``sleep_ms``, a clip).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.client import RealtimeSession
from harness.metrics.latency import ROLE_BARGE_IN
from harness.protocol import ClientEventType
from harness.runner.speech import PreparedClip, speak
from harness.scenario import (
    Action,
    BargeIn,
    Cancel,
    Clear,
    ClearOutput,
    Commit,
    CreateResponse,
    Scenario,
    Send,
    Sleep,
    WaitFor,
)


@dataclass
class TurnContext:
    """What the actions of one turn share."""

    session: RealtimeSession
    scenario: Scenario
    index: int
    label: str
    audio_dir: Path
    anchor: float
    barge_in_clips: list[PreparedClip] = field(default_factory=list)
    barge_ins: int = 0

    def sent_path(self, suffix: str) -> Path:
        return self.audio_dir / f"{self.index:02d}-{self.label}.{suffix}.wav"


async def _send(ctx: TurnContext, event: dict[str, Any]) -> None:
    """Send; later waits start at the moment of sending (nothing can answer it before that)."""
    ctx.anchor = ctx.session.timeline.now()
    await ctx.session.send(event)


async def _barge_in(ctx: TurnContext, action: BargeIn) -> None:
    options = action.barge_in
    clip = ctx.barge_in_clips[ctx.barge_ins]  # prepared before the turn started
    ctx.barge_ins += 1
    if isinstance(options.after, str):
        await ctx.session.wait_for(options.after, timeout=options.timeout_ms / 1000, after=ctx.anchor)
    else:
        await asyncio.sleep(options.after / 1000)
    ctx.anchor = ctx.session.timeline.now()
    if options.cancel:
        await ctx.session.send({"type": ClientEventType.RESPONSE_CANCEL})
        await ctx.session.send({"type": ClientEventType.OUTPUT_AUDIO_BUFFER_CLEAR})
    await speak(ctx.session, clip, ROLE_BARGE_IN)


async def run_action(ctx: TurnContext, action: Action) -> None:
    """Carry out one action, moving ``ctx.anchor`` past any event it sent."""
    if isinstance(action, Commit):
        await _send(ctx, {"type": ClientEventType.INPUT_AUDIO_BUFFER_COMMIT})
    elif isinstance(action, CreateResponse):
        event: dict[str, Any] = {"type": ClientEventType.RESPONSE_CREATE}
        overrides = action.create_response.payload()
        if overrides:
            event["response"] = overrides
        await _send(ctx, event)
    elif isinstance(action, Cancel):
        await ctx.session.send({"type": ClientEventType.RESPONSE_CANCEL})
        await _send(ctx, {"type": ClientEventType.OUTPUT_AUDIO_BUFFER_CLEAR})
    elif isinstance(action, Clear):
        await _send(ctx, {"type": ClientEventType.INPUT_AUDIO_BUFFER_CLEAR})
    elif isinstance(action, ClearOutput):
        await _send(ctx, {"type": ClientEventType.OUTPUT_AUDIO_BUFFER_CLEAR})
    elif isinstance(action, Send):
        await _send(ctx, dict(action.send))
    elif isinstance(action, WaitFor):
        options = action.wait_for
        await ctx.session.wait_for(
            options.event, timeout=options.timeout_ms / 1000, after=ctx.anchor, match=options.matches
        )
    elif isinstance(action, Sleep):
        await asyncio.sleep(action.sleep_ms / 1000)
    elif isinstance(action, BargeIn):
        await _barge_in(ctx, action)
    else:  # pragma: no cover - the Action union is closed
        raise TypeError(f"unknown action {action!r}")


def user_message(text: str) -> dict[str, Any]:
    """``conversation.item.create`` of a typed user message."""
    return {
        "type": ClientEventType.CONVERSATION_ITEM_CREATE,
        "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]},
    }
