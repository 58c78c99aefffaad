"""The user's speech as actually sent: clips prepared once, played, and their speech marked.

A clip is loaded the way the client sends it (resampled to 48 kHz mono int16 with its gain),
trimmed (``offset_ms``/``duration_ms``), written to the run directory and played from there, so
the ``.sent.wav`` file is byte for byte what went on the wire. The energy VAD runs on those same
samples; where speech starts and ends is recorded on the timeline as ``audio.input.speech_start``
/ ``audio.input.speech_end`` milestones, stamped relative to the clip's ``audio.input.start``
(the moment its first frame went to the sender), for voice-to-voice and barge-in latencies.
A turn's perturbations (noise, speed...) are applied here too, in the same worker process; the
speech marks come from the clip before noise and line degradation (where the words are).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import soundfile

from harness.client import RealtimeSession
from harness.client.audio_source import Pcm, load_wav, trim_samples
from harness.errors import UsageError
from harness.fixtures.perturb import babble_talkers, perturb
from harness.metrics import speech_segments
from harness.protocol import SAMPLE_RATE, Milestone
from harness.runner.workers import CpuPool
from harness.scenario import AudioClip, BargeIn, Scenario, resolve_audio
from harness.scenario.perturbation import Perturbation
from harness.timeline import EntryKind, Timeline, TimelineEntry


class ClipFiles(Protocol):
    def sent_path(self, suffix: str) -> Path: ...


@dataclass(frozen=True, slots=True)
class PreparedClip:
    source: Path  # the scenario's WAV
    path: Path  # the exact samples sent (48 kHz mono int16)
    duration_s: float
    speech: tuple[tuple[float, float], ...]  # speech segments, seconds from the clip's first sample


def _babble(source: Path) -> list[Pcm]:
    talkers = babble_talkers(source)
    if not talkers:
        raise UsageError(
            f"noise_type babble for {source}: no other speech fixture (made by `rth fixtures synth`) in "
            f"{source.parent} to mix; add some there, or use noise_type pink"
        )
    return [load_wav(path) for path in talkers]


def prepare_clip(
    scenario: Scenario, clip: AudioClip, dest: Path, perturbation: Perturbation | None = None
) -> PreparedClip:
    """Load, apply gain, trim, perturb and write the clip; raises UsageError if it cannot be read."""
    source = resolve_audio(scenario, clip.path)
    samples = trim_samples(load_wav(source, gain_db=clip.gain_db), clip.offset_ms, clip.duration_ms)
    clean = samples
    if perturbation is not None:
        babble = _babble(source) if perturbation.noise_type == "babble" and perturbation.noise_snr_db else []
        perturbed = perturb(samples, perturbation, SAMPLE_RATE, key=clip.path.name, babble=babble)
        samples, clean = perturbed.samples, perturbed.clean
    dest.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(dest), samples, SAMPLE_RATE, subtype="PCM_16")
    segments = speech_segments(clean, SAMPLE_RATE)
    return PreparedClip(
        source=source,
        path=dest,
        duration_s=len(samples) / SAMPLE_RATE,
        speech=tuple((round(a, 3), round(b, 3)) for a, b in segments),
    )


@dataclass(frozen=True, slots=True)
class TurnClips:
    """A turn's clips, prepared before it starts: its own audio and its barge-ins, in order."""

    audio: PreparedClip | None
    barge_ins: tuple[PreparedClip, ...]


class ClipCache:
    """Clips prepared once and reused by every session of a load worker: the same WAV with the same
    gain and trim is the same samples, so it is decoded, resampled and written only the first time
    (bounded by the scenarios' own clips; one cache per worker process, passed in, never global)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._clips: dict[tuple[Path, float, float, float | None, str], asyncio.Future[PreparedClip]] = {}

    async def prepare(
        self, pool: CpuPool, scenario: Scenario, clip: AudioClip, perturbation: Perturbation | None = None
    ) -> PreparedClip:
        settings = perturbation.model_dump_json() if perturbation is not None else ""
        key = (resolve_audio(scenario, clip.path), clip.gain_db, clip.offset_ms, clip.duration_ms, settings)
        found = self._clips.get(key)
        if found is None:
            dest = self.directory / f"clip{len(self._clips):04d}.sent.wav"
            found = self._clips[key] = asyncio.ensure_future(
                pool.call(prepare_clip, scenario, clip, dest, perturbation)
            )
        try:
            return await asyncio.shield(found)
        except Exception:
            self._clips.pop(key, None)  # a failure is not cached: the next session tries again
            raise


async def prepare_turn_clips(
    pool: CpuPool, scenario: Scenario, index: int, files: ClipFiles, cache: ClipCache | None = None
) -> TurnClips:
    """Prepare every clip of the turn in ``pool`` (decode, resample and WAV writes stay off the loop
    that paces other sessions' audio); named as ``files`` says, or taken from ``cache``."""

    perturbation = scenario.perturbation(index)

    async def prepare(clip: AudioClip, dest: Path) -> PreparedClip:
        if cache is not None:
            return await cache.prepare(pool, scenario, clip, perturbation)
        return await pool.call(prepare_clip, scenario, clip, dest, perturbation)

    turn = scenario.turns[index]
    audio = await prepare(turn.audio, files.sent_path("sent")) if turn.audio else None
    barge_ins: list[PreparedClip] = []
    for action in turn.actions_for(scenario.turn_mode(index)):
        if isinstance(action, BargeIn):
            dest = files.sent_path(f"barge_in{len(barge_ins) + 1}.sent")
            barge_ins.append(await prepare(action.barge_in.audio, dest))
    return TurnClips(audio, tuple(barge_ins))


def _clip_milestone(
    timeline: Timeline, milestone: Milestone, path: Path, after: float
) -> TimelineEntry | None:
    """The clip's own milestone. Every clip has its own file, so the path identifies it; all entries
    are scanned because back-dated ones (audio onsets) sit amid newer ones."""
    for entry in reversed(timeline.entries):
        if entry.t < after:
            continue
        if (
            entry.kind == EntryKind.MILESTONE
            and entry.type == milestone
            and entry.data.get("path") == str(path)
        ):
            return entry
    return None


def mark_speech(timeline: Timeline, clip: PreparedClip, role: str, after: float) -> float | None:
    """Record where speech started and ended in the clip just played; return the speech end time.

    ``after`` is the timeline time before ``play`` was called. A clip cut short (``cancelled``)
    ends its speech no later than its last frame sent.
    """
    start = _clip_milestone(timeline, Milestone.INPUT_AUDIO_START, clip.path, after)
    end = _clip_milestone(timeline, Milestone.INPUT_AUDIO_END, clip.path, after)
    if start is None or not clip.speech:
        return None
    speech_start = start.t + clip.speech[0][0]
    speech_end = start.t + clip.speech[-1][1]
    if end is not None and end.data.get("cancelled"):
        if speech_start > end.t:
            return None
        speech_end = min(speech_end, end.t)
    data: dict[str, Any] = {"role": role, "path": str(clip.path), "source": str(clip.source)}
    timeline.mark(Milestone.INPUT_SPEECH_START, {**data, "offset_s": clip.speech[0][0]}, t=speech_start)
    timeline.mark(Milestone.INPUT_SPEECH_END, {**data, "offset_s": clip.speech[-1][1]}, t=speech_end)
    return speech_end


async def speak(session: RealtimeSession, clip: PreparedClip, role: str) -> None:
    """Play the clip to its end (or until cut) and mark its speech on the timeline."""
    before = session.timeline.now()
    try:
        await session.play(clip.path)
    finally:
        mark_speech(session.timeline, clip, role, before)
