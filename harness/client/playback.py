"""Play one WAV through the input track: queue it, mark its first and last frame, wait for it, bounded.

The sender pulls a frame every 20 ms, so a clip ends when its frames and those queued before it
have been pulled. If the sender stops pulling (the peer connection went away under it), the wait
ends :data:`PLAY_SLACK_S` after that with :class:`ConnectionLost` instead of holding the turn.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from harness.client.audio_source import Clip, PcmFrameProducer, load_wav
from harness.client.opus_input import OpusClip, OpusPacketProducer
from harness.errors import ConnectionLost
from harness.protocol import FRAME_DURATION_S, SAMPLE_RATE, Milestone
from harness.timeline import Timeline

PLAY_SLACK_S = 5.0  # a clip may end this much later than its frames (and those ahead) last


async def play_clip(
    producer: PcmFrameProducer | OpusPacketProducer, timeline: Timeline, path: Path, gain_db: float
) -> None:
    """Queue the clip, wait until its last frame went to the sender; see RealtimeSession.play."""
    if isinstance(producer, OpusPacketProducer):
        encoded = producer.cache.get(Path(path), gain_db=gain_db)
        duration_s = encoded.duration_s
    else:
        samples = load_wav(Path(path), gain_db=gain_db)
        duration_s = len(samples) / SAMPLE_RATE
    info: dict[str, Any] = {"path": str(path), "duration_s": round(duration_s, 3)}
    if gain_db:
        info["gain_db"] = gain_db
    state = {"started": False, "ended": False}

    def on_start(pts: int) -> None:
        state["started"] = True
        timeline.mark(Milestone.INPUT_AUDIO_START, {**info, "pts": pts})

    def on_end(pts: int) -> None:
        state["ended"] = True
        timeline.mark(Milestone.INPUT_AUDIO_END, {**info, "pts": pts})

    clip: Clip | OpusClip
    if isinstance(producer, OpusPacketProducer):
        clip = opus_clip = OpusClip(encoded, str(path), on_start=on_start, on_end=on_end)
        producer.enqueue(opus_clip)
    else:
        clip = pcm_clip = Clip(samples, str(path), on_start=on_start, on_end=on_end)
        producer.enqueue(pcm_clip)
    bound = producer.queued_frames * FRAME_DURATION_S + PLAY_SLACK_S
    try:
        async with asyncio.timeout(bound):
            await clip.done
    except BaseException as exc:
        if isinstance(producer, OpusPacketProducer):
            producer.cancel(opus_clip)
        else:
            producer.cancel(pcm_clip)
        if isinstance(exc, TimeoutError):
            raise ConnectionLost(f"the audio track stopped: {path} not sent within {bound:.1f} s") from None
        raise
    finally:
        if state["started"] and not state["ended"]:
            timeline.mark(Milestone.INPUT_AUDIO_END, {**info, "cancelled": True})
