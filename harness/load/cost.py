"""What a load run against a paid target would cost, estimated before it starts.

Assumptions (documented in docs/load.md): audio input bills about 10 tokens per second and audio
output about 20 (OpenAI's published 100 ms / 50 ms per token); each reply lasts
``REPLY_S`` seconds; a session lasts its input audio plus its replies. The estimate is an upper
bound for a breakpoint run (every level up to ``--max-users``). Loopback targets cost nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import soundfile

from harness.client import Target
from harness.report.model import TokenUsage
from harness.report.prices import load_prices
from harness.runner.options import LOCAL_TARGET
from harness.scenario import Scenario, resolve_audio

if TYPE_CHECKING:
    from harness.load.driver import LoadOptions

INPUT_AUDIO_TOKENS_PER_S = 10
OUTPUT_AUDIO_TOKENS_PER_S = 20
REPLY_S = 5.0


def _input_seconds(scenario: Scenario) -> float:
    total = 0.0
    for turn in scenario.turns:
        for _, clip in turn.clips():
            total += float(soundfile.info(str(resolve_audio(scenario, clip.path))).duration)
    return total


def is_ours(target: str) -> bool:
    """``local`` or a loopback URL: our stand-in, which costs nothing (and only this machine reaches)."""
    return target == LOCAL_TARGET or Target(target, "").is_loopback


def estimate_cost(scenarios: Sequence[Scenario], options: LoadOptions) -> float | None:
    """Dollars for the whole run, or None when every scenario's target is ours (local or loopback).
    Users loop over the scenarios, so a paid scenario's share of the sessions is its share of them."""
    run = options.run
    paid = sum(1 for scenario in scenarios if not is_ours(scenario.target or run.target))
    if not paid:
        return None
    inputs = sum(_input_seconds(s) for s in scenarios) / len(scenarios)
    replies = REPLY_S * sum(len(s.turns) for s in scenarios) / len(scenarios)
    session_s = max(inputs + replies, 1.0)
    if options.ramp_until is not None:
        levels = max(1, options.max_users // options.users)
        user_seconds = options.users * options.step_s * levels * (levels + 1) / 2
    elif options.rate is not None:
        user_seconds = options.rate * options.duration_s * session_s
    else:
        user_seconds = options.users * options.duration_s
    sessions = user_seconds / session_s
    usage = TokenUsage(
        responses=round(sessions * len(scenarios[0].turns)),
        input_audio=round(sessions * inputs * INPUT_AUDIO_TOKENS_PER_S),
        output_audio=round(sessions * replies * OUTPUT_AUDIO_TOKENS_PER_S),
    )
    cost = load_prices(run.prices).cost(run.model, usage)
    return float("inf") if cost is None else cost * paid / len(scenarios)
