"""Perturbations: how the caller's audio is degraded when a clip is loaded (the file never changes).

Declared under ``perturb`` per turn, per scenario or in a suite's ``defaults`` (merged key by key,
the nearer one wins), and a ``--matrix`` axis each (``--matrix noise_snr_db=30,10,0``), so a run
shows how WER and latency degrade. Every parameter is bounded: a value outside its range is a
line-numbered error, not a silent clamp. The signal processing is in :mod:`harness.fixtures.perturb`.

``caller_voice`` is not a perturbation of the samples but a choice of fixture (the same text spoken
by another flite voice); it lives on the scenario (:class:`harness.scenario.models.Scenario`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from harness.scenario._base import Strict

NoiseType = Literal["white", "pink", "babble"]
CallerVoice = Literal["rms", "slt", "awb", "kal"]
CALLER_VOICES: tuple[str, ...] = ("rms", "slt", "awb", "kal")


class Perturbation(Strict):
    """What is done to every clip a turn plays (its audio and its barge-ins), in this order:
    speed, leading/trailing silence, noise, gain, telephone band, clipping, dropouts."""

    seed: int = Field(
        default=0, ge=0, le=2**32 - 1, description="Seeds the noise and the dropouts (same seed, same audio)"
    )
    speed: float | None = Field(
        default=None,
        ge=0.5,
        le=2.0,
        description="Play faster (>1) or slower (<1); pitch moves with it, as on tape",
    )
    lead_silence_ms: int = Field(default=0, ge=0, le=10_000, description="Silence added before the clip")
    trail_silence_ms: int = Field(default=0, ge=0, le=10_000, description="Silence added after the clip")
    noise_snr_db: float | None = Field(
        default=None,
        ge=-10,
        le=60,
        description="Add noise at this signal-to-noise ratio (dB, against the clip's active speech level); "
        "it covers the added silence too",
    )
    noise_type: NoiseType = Field(
        default="pink",
        description="white, pink (1/f, like room and traffic noise) or babble (other speech fixtures of "
        "the clip's folder, mixed)",
    )
    gain_db: float = Field(default=0.0, ge=-60, le=40, description="Level change after the noise (clipped)")
    telephone: bool = Field(
        default=False, description="Narrowband telephone channel: 300-3400 Hz band-pass, as 8 kHz calls sound"
    )
    clipping_db: float | None = Field(
        default=None, gt=0, le=40, description="Hard-clip the waveform this many dB below its peak"
    )
    dropout_rate: float = Field(
        default=0.0, ge=0, le=0.5, description="Share of packets lost: that many `dropout_ms` slices zeroed"
    )
    dropout_ms: int = Field(default=20, ge=10, le=200, description="Length of one lost packet (ms)")

    @property
    def changes_audio(self) -> bool:
        """False when every setting is neutral (nothing to compute)."""
        return bool(
            (self.speed is not None and self.speed != 1.0)
            or self.lead_silence_ms
            or self.trail_silence_ms
            or self.noise_snr_db is not None
            or self.gain_db
            or self.telephone
            or self.clipping_db is not None
            or self.dropout_rate
        )

    def settings(self) -> dict[str, Any]:
        """Only what was set (for reports and cache keys)."""
        return self.model_dump(exclude_unset=True)


PERTURBATION_AXES: tuple[str, ...] = tuple(name for name in Perturbation.model_fields)
