"""``rth fixtures synth`` and ``rth fixtures noise``: the WAVs scenarios speak, made reproducibly."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from harness.cli._app import EXIT_USAGE, app, console, errors, exit_codes
from harness.errors import UsageError

fixtures_app = typer.Typer(
    help="Make fixture WAVs: speech from a turn's text (flite), noise bursts; each with a sidecar JSON.",
    no_args_is_help=True,
)
app.add_typer(fixtures_app, name="fixtures")

VOICES = ("rms", "slt", "awb", "kal")


class NoiseColor(StrEnum):
    white = "white"
    pink = "pink"


def _voices(values: list[str] | None) -> list[str]:
    """``--voice awb --voice kal`` or ``--voice awb,kal``, checked against flite's voices."""
    voices = [v.strip() for value in values or [] for v in value.split(",") if v.strip()]
    for voice in voices:
        if voice not in VOICES:
            raise UsageError(f"--voice {voice!r}: not a flite voice here; use one of {', '.join(VOICES)}")
    return list(dict.fromkeys(voices))


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@fixtures_app.command()
def synth(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Scenario files or folders (and fixture WAVs or folders of them, to remake)."),
    ],
    voice: Annotated[
        list[str] | None,
        typer.Option(
            help="flite voice(s): rms, slt, awb, kal (repeat, or comma-separate). Missing WAVs are spoken in "
            "the first (default slt); every clip is also made in each voice as CLIP.<voice>.wav, which "
            "`caller_voice` / `--matrix caller_voice=...` play."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Remake every WAV that has a sidecar from it (recordings are never touched).")
    ] = False,
) -> None:
    """Write each turn's missing WAV from its `text` with flite, plus a sidecar JSON per WAV.

    Deterministic: the same flite speaks the same bytes, so `--force` regenerates committed fixtures
    byte for byte. The sidecar (CLIP.json) records the text, voice, flite version, format and command.
    """
    from harness.fixtures.synth import plan_synthesis, run_job

    with exit_codes():
        plan = plan_synthesis(paths, _voices(voice), force)
        for problem in plan.problems:
            errors.print(f"rth: {problem}", markup=False, highlight=False, soft_wrap=True)
        notes = list(plan.notes)
        for job in plan.jobs.values():
            done, recipe, version_note = run_job(job)
            what = f"{recipe.voice} voice" if recipe.kind == "flite" else f"{recipe.color} noise"
            sidecar = done.wav.with_suffix(".json").name
            line = f"wrote {_shown(done.wav)} ({done.why}: {what}, {recipe.sample_rate} Hz) + {sidecar}"
            console.print(line, markup=False, highlight=False, soft_wrap=True)
            notes.extend([version_note] if version_note else [])
        for note in notes:
            console.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
    console.print(
        f"{len(plan.jobs)} written, {len(plan.up_to_date - set(plan.jobs))} up to date"
        + (f", {len(plan.problems)} problem(s)" if plan.problems else ""),
        highlight=False,
    )
    if plan.problems:
        raise typer.Exit(EXIT_USAGE)


@fixtures_app.command()
def noise(
    out: Annotated[Path, typer.Argument(help="The WAV to write (its sidecar goes beside it).")],
    color: Annotated[NoiseColor, typer.Option(help="white, or pink (1/f).")] = NoiseColor.pink,
    duration_ms: Annotated[int, typer.Option(min=1, max=60_000, help="Length of the burst.")] = 250,
    level_dbfs: Annotated[float, typer.Option(min=-90, max=0, help="RMS level of the burst.")] = -30.0,
    fade_ms: Annotated[int, typer.Option(min=0, help="Raised-cosine fade in and out.")] = 0,
    seed: Annotated[int, typer.Option(min=0, help="Same seed, same samples.")] = 0,
    rate: Annotated[int, typer.Option(min=8000, max=48000, help="Sample rate of the WAV.")] = 16000,
    force: Annotated[bool, typer.Option(help="Overwrite an existing WAV.")] = False,
) -> None:
    """Write a noise burst (a cough, a knock, a door) as a fixture WAV with its sidecar.

    For scenarios that play non-speech sounds, e.g. a false barge-in; `rth fixtures synth --force`
    remakes it from the sidecar like any other fixture.
    """
    from harness.fixtures.make import make
    from harness.fixtures.recipe import NoiseRecipe

    with exit_codes():
        if out.suffix != ".wav":
            raise UsageError(f"{out}: name the output *.wav")
        if out.exists() and not force:
            raise UsageError(f"{out} exists; pass --force to overwrite it")
        recipe = NoiseRecipe(
            color=color.value,
            duration_ms=duration_ms,
            level_dbfs=level_dbfs,
            fade_ms=fade_ms,
            seed=seed,
            sample_rate=rate,
        )
        make(out, recipe)
    console.print(f"wrote {_shown(out)} + {out.with_suffix('.json').name}", markup=False, highlight=False)
