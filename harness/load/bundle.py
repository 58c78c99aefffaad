"""Files that cross machines with a remote load worker: its inputs there, its samples back.

A Ray node need not share the driver's disk, so a remote worker gets the bytes of every file its
scenarios name (clips, barge-in clips, personas) with the scenarios, writes them under its own
scratch folder and reads the scenarios from there; at the end it packs what its sampled sessions
wrote (timeline, audio) as paths relative to its run folder, and the driver lays them into the run
directory. Local worker processes need neither: they share the driver's disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import ScenarioError
from harness.scenario import Scenario, resolve_audio
from harness.scenario.actions import Action, AudioClip, BargeIn

Files = dict[str, bytes]  # path (absolute on the driver, or relative to a run folder) -> content


@dataclass(frozen=True)
class ScenarioInputs:
    """Scenarios as the driver loaded them, with the content of every file they name."""

    scenarios: tuple[Scenario, ...]
    files: Files = field(default_factory=dict)


def named_files(scenario: Scenario) -> list[Path]:
    """Every file the scenario reads while it runs, absolute, in order of appearance."""
    found = [resolve_audio(scenario, clip.path) for turn in scenario.turns for _, clip in turn.clips()]
    if scenario.persona is not None:
        found.append(scenario.persona)
    return list(dict.fromkeys(found))


def pack_inputs(scenarios: tuple[Scenario, ...]) -> ScenarioInputs:
    files: Files = {}
    for scenario in scenarios:
        for path in named_files(scenario):
            try:
                files[str(path)] = path.read_bytes()
            except OSError as exc:
                raise ScenarioError(f"{path}: cannot read it for the Ray workers: {exc.strerror}") from None
    return ScenarioInputs(scenarios, files)


def unpack_inputs(inputs: ScenarioInputs, folder: Path) -> tuple[Scenario, ...]:
    """Write the files under ``folder`` and return the scenarios reading them from there."""
    folder.mkdir(parents=True, exist_ok=True)
    moved: dict[Path, Path] = {}
    for index, (original, content) in enumerate(inputs.files.items()):
        local = folder / f"{index:04d}-{Path(original).name}"
        local.write_bytes(content)
        moved[Path(original)] = local
    return tuple(relocate(scenario, moved) for scenario in inputs.scenarios)


def relocate(scenario: Scenario, moved: dict[Path, Path]) -> Scenario:
    """The scenario with every named file replaced by its new absolute path."""

    def clip(audio: AudioClip) -> AudioClip:
        return audio.model_copy(update={"path": moved[resolve_audio(scenario, audio.path)]})

    def action(item: Action) -> Action:
        if not isinstance(item, BargeIn):
            return item
        options = item.barge_in.model_copy(update={"audio": clip(item.barge_in.audio)})
        return item.model_copy(update={"barge_in": options})

    turns = tuple(
        turn.model_copy(
            update={
                "audio": None if turn.audio is None else clip(turn.audio),
                "actions": None if turn.actions is None else tuple(action(a) for a in turn.actions),
            }
        )
        for turn in scenario.turns
    )
    persona = None if scenario.persona is None else moved[scenario.persona]
    return scenario.model_copy(update={"turns": turns, "persona": persona})


def pack_outputs(folder: Path) -> Files:
    """Every file under ``folder``, keyed by its path relative to it (POSIX separators)."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def land_outputs(files: Files, folder: Path) -> None:
    """Write packed files under ``folder``; a path that would leave it is refused."""
    root = folder.resolve()
    for name, content in files.items():
        target = (root / name).resolve()
        if not target.is_relative_to(root):
            raise ValueError(f"a remote worker sent a file outside the run directory: {name!r}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
