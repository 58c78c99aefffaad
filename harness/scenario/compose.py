"""From files to the list of scenarios to run: suites, includes, shared defaults, audio checks.

A file is a **scenario** (``name`` + ``turns``) or a **suite** (``scenarios`` and/or ``include``,
with ``defaults`` applied under each of them). Included files may be suites themselves; the nearer
suite's defaults win over the outer one's. A file reached through an include is not run again on
its own when a folder holding both is run. Every problem found is collected (``rth validate``
prints them all); :func:`load_scenarios` raises on the first with the count of the rest.
"""

from __future__ import annotations

import glob
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from harness.errors import ScenarioError, UsageError
from harness.scenario.audio_check import audio_problem
from harness.scenario.loader import (
    DataPath,
    YamlDocument,
    discover,
    field_name,
    format_validation_errors,
    read_yaml,
)
from harness.scenario.models import Scenario, Suite, apply_defaults

SUITE_KEYS = ("scenarios", "include", "suite", "defaults")


@dataclass
class LoadedFile:
    path: Path
    scenarios: list[Scenario] = field(default_factory=list)
    included: set[Path] = field(default_factory=set)  # every file reached through include, transitively
    problems: list[str] = field(default_factory=list)
    concurrency: int | None = None  # the suite's `defaults.concurrency`


class MissingAudio(str):
    """A problem that is only a missing WAV (``rth fixtures synth`` may be able to make it)."""

    __slots__ = ()


def resolve_audio(scenario: Scenario, audio: Path, *, as_written: bool = False) -> Path:
    """The clip a path names, relative to the file that holds the scenario; with the scenario's
    ``caller_voice``, the same text in that voice (``clip.<voice>.wav``) unless ``as_written``."""
    base = scenario.source.parent if scenario.source else Path.cwd()
    path = audio if audio.is_absolute() else (base / audio).resolve()
    if scenario.caller_voice is None or as_written:
        return path
    from harness.fixtures.recipe import voice_variant  # reads the clip's sidecar (a leaf module)

    return voice_variant(path, scenario.caller_voice)


def _anchored(scenario: Scenario, document: YamlDocument) -> Scenario:
    """The persona path made absolute against the file that wrote it (defaults travel to other files)."""
    if scenario.persona is None or scenario.persona.is_absolute():
        return scenario
    return scenario.model_copy(update={"persona": (document.path.parent / scenario.persona).resolve()})


def _bad_persona(document: YamlDocument, persona: Path | None, path: DataPath) -> list[str]:
    """A persona file that is missing or that the stand-in would refuse, found before any call."""
    if persona is None:
        return []
    from harness.server.persona import PersonaError, load_persona  # the stand-in owns the format

    try:
        load_persona(persona)
    except PersonaError as exc:
        return [f"{document.where(path)}: {field_name(path)}: {exc}; see examples/personas/"]
    return []


def _bad_audio(document: YamlDocument, scenario: Scenario, prefix: DataPath) -> list[str]:
    """Every clip of the scenario, as written, that is missing or cannot be sent (caller voices:
    :func:`missing_voices`); a missing one is a :class:`MissingAudio` (`rth fixtures synth` may make it)."""
    problems: list[str] = _bad_persona(document, scenario.persona, (*prefix, "persona"))
    for index, turn in enumerate(scenario.turns):
        for where, clip in turn.clips():
            resolved = resolve_audio(scenario, clip.path, as_written=True)
            if resolved.is_file():
                problem = audio_problem(resolved, clip)
                if problem is None:
                    continue
                problem = f"{resolved}: {problem}"
            else:
                problem = MissingAudio(
                    f"file not found: {resolved}; paths are relative to the scenario file "
                    "(`rth fixtures synth` speaks a turn's `text` into it)"
                )
            parts: list[str | int] = [int(p) if p.isdigit() else p for p in where.split(".")]
            path: DataPath = (*prefix, "turns", index, *parts)
            deeper = (*path, "path")
            location = document.where(deeper if deeper in document.marks else path)
            line = f"{location}: {field_name(path)}: {problem}"
            problems.append(MissingAudio(line) if isinstance(problem, MissingAudio) else line)
    return problems


def missing_voices(scenario: Scenario) -> list[str]:
    """The clips missing in the scenario's ``caller_voice`` (those written exist; the voice may come
    from a suite's defaults or a ``--matrix caller_voice`` value, so this runs on the final scenario)."""
    if scenario.caller_voice is None:
        return []
    problems: list[str] = []
    for index, turn in enumerate(scenario.turns):
        for where, clip in turn.clips():
            written = resolve_audio(scenario, clip.path, as_written=True)
            played = resolve_audio(scenario, clip.path)
            if written.is_file() and not played.is_file():
                problems.append(
                    MissingAudio(
                        f"{scenario.source}: scenario {scenario.name}: turns[{index}].{where}: no "
                        f"{scenario.caller_voice} voice of {written.name} ({played}); make it with "
                        f"`rth fixtures synth {scenario.source} --voice {scenario.caller_voice}`"
                    )
                )
    return problems


def _is_suite(data: dict[str, object]) -> bool:
    return any(key in data for key in SUITE_KEYS) and "turns" not in data


def load_file(path: Path, stack: tuple[Path, ...] = ()) -> LoadedFile:
    """Load one scenario or suite file (and what it includes), collecting every problem."""
    loaded = LoadedFile(path=path)
    try:
        document = read_yaml(path)
    except ScenarioError as exc:
        loaded.problems.extend(exc.problems)
        return loaded
    if not _is_suite(document.data):
        try:
            scenario = Scenario.model_validate({**document.data, "source": path})
        except ValidationError as exc:
            loaded.problems.extend(format_validation_errors(document, exc))
            return loaded
        scenario = _anchored(scenario, document)
        loaded.problems.extend(_bad_audio(document, scenario, ()))
        loaded.scenarios.append(scenario)
        return loaded
    try:
        suite = Suite.model_validate(document.data)
    except ValidationError as exc:
        loaded.problems.extend(format_validation_errors(document, exc))
        return loaded
    if suite.defaults.persona is not None and not suite.defaults.persona.is_absolute():
        persona = (path.parent / suite.defaults.persona).resolve()
        loaded.problems.extend(_bad_persona(document, persona, ("defaults", "persona")))
        suite = suite.model_copy(update={"defaults": suite.defaults.model_copy(update={"persona": persona})})
    loaded.concurrency = suite.defaults.concurrency
    for index, scenario in enumerate(suite.scenarios):
        placed = _anchored(scenario.model_copy(update={"source": path}), document)
        loaded.problems.extend(_bad_audio(document, placed, ("scenarios", index)))
        loaded.scenarios.append(apply_defaults(placed, suite.defaults, suite.suite))
    for index, pattern in enumerate(suite.include):
        for included in _expand_include(document, index, pattern, (*stack, path), loaded.problems):
            child = load_file(included, (*stack, path))
            loaded.problems.extend(child.problems)
            loaded.included |= {included, *child.included}
            loaded.scenarios.extend(apply_defaults(s, suite.defaults, suite.suite) for s in child.scenarios)
    if not loaded.scenarios and not loaded.problems:
        where = document.where(("include",), at_key=True)
        loaded.problems.append(
            f"{where}: this suite selects no scenario (what it includes holds none); "
            "add `scenarios` or include files that have some"
        )
    return loaded


def _expand_include(
    document: YamlDocument, index: int, pattern: str, stack: tuple[Path, ...], problems: list[str]
) -> list[Path]:
    where = document.where(("include", index))
    base = document.path.parent
    full = pattern if Path(pattern).is_absolute() else str(base / pattern)
    if glob.has_magic(pattern):
        matches = sorted(
            Path(p) for p in glob.glob(full, recursive=True) if Path(p).suffix in (".yaml", ".yml")
        )
    else:
        matches = [Path(full)] if Path(full).is_file() else []
    if not matches:
        problems.append(
            f"{where}: include[{index}]: no file matches '{pattern}'; paths are relative to this file"
        )
    found: list[Path] = []
    for match in matches:
        if match.resolve() in {p.resolve() for p in stack}:
            chain = " -> ".join(p.name for p in (*stack, match))
            problems.append(f"{where}: include[{index}]: include cycle ({chain}); remove one of the includes")
        else:
            found.append(match)
    return found


def load_files(paths: Sequence[Path]) -> list[LoadedFile]:
    """Every file found under ``paths``, except those another one includes (they run through it).

    A file left out keeps its problems: files that include each other leave none to run, and the
    include cycle must say so (the caller checks that something is left)."""
    files = [load_file(path) for path in discover(paths)]
    included = {p.resolve() for loaded in files for p in loaded.included}
    kept = [loaded for loaded in files if loaded.path.resolve() not in included]
    reported = {problem for loaded in kept for problem in loaded.problems}
    for loaded in files:
        if loaded not in kept:
            orphans = [problem for problem in loaded.problems if problem not in reported]
            if kept and orphans:
                kept[0].problems.extend(orphans)
            elif orphans:
                kept.append(LoadedFile(path=loaded.path, problems=orphans, included=loaded.included))
            reported.update(orphans)
    return kept


def _raise(problems: list[str]) -> None:
    more = f" (+{len(problems) - 1} more; run `rth validate`)" if len(problems) > 1 else ""
    raise ScenarioError(problems[0] + more, problems=problems)


@dataclass
class Checked:
    """What ``rth validate`` reports: the files read, the scenarios they define, every problem."""

    files: list[Path]
    scenarios: list[Scenario]
    problems: list[str]
    concurrency: int | None = None  # the smallest a suite run here asks for, if any


def check(paths: Sequence[Path]) -> Checked:
    """Load everything under ``paths`` and collect every problem, unique scenario names included."""
    loaded_files = load_files(paths)
    problems = [problem for loaded in loaded_files for problem in loaded.problems]
    seen: dict[str, Path] = {}
    scenarios: list[Scenario] = []
    for loaded in loaded_files:
        for scenario in loaded.scenarios:
            problems.extend(missing_voices(scenario))
            if scenario.name in seen:
                problems.append(
                    f"{scenario.source}: scenario name '{scenario.name}' is also used by "
                    f"{seen[scenario.name]} (run via {loaded.path}); names must be unique"
                )
            seen.setdefault(scenario.name, loaded.path)
            scenarios.append(scenario)
    if not scenarios and not problems:
        problems.append(
            f"{', '.join(map(str, paths))}: no scenario to run (the files found select none); "
            "add a scenario, or pass the files that hold them"
        )
    files = [f.path for f in loaded_files] + sorted({p for f in loaded_files for p in f.included})
    asked = [f.concurrency for f in loaded_files if f.concurrency is not None]
    return Checked(files=files, scenarios=scenarios, problems=problems, concurrency=min(asked, default=None))


def load_suite(paths: Sequence[Path]) -> Checked:
    """What runs: the scenarios in file order and the suites' concurrency; raise
    :class:`ScenarioError` on any problem."""
    checked = check(paths)
    if checked.problems:
        _raise(checked.problems)
    return checked


def load_scenarios(paths: Sequence[Path]) -> list[Scenario]:
    """The scenarios to run, in file order; raise :class:`ScenarioError` on any problem."""
    return load_suite(paths).scenarios


def load_scenario(path: Path) -> Scenario:
    """The one scenario of a file (a suite must hold exactly one); raise on any problem."""
    loaded = load_file(path)
    if loaded.problems:
        _raise(loaded.problems)
    if len(loaded.scenarios) != 1:
        raise ScenarioError(f"{path}: holds {len(loaded.scenarios)} scenarios; load it with load_scenarios()")
    return loaded.scenarios[0]


def select_tagged(scenarios: Sequence[Scenario], tags: Sequence[str]) -> list[Scenario]:
    """The scenarios carrying any of ``tags`` (all of them when no tag is given)."""
    if not tags:
        return list(scenarios)
    wanted = set(tags)
    chosen = [scenario for scenario in scenarios if wanted & set(scenario.tags)]
    if not chosen:
        present = sorted({tag for scenario in scenarios for tag in scenario.tags})
        raise UsageError(
            f"--tag {', '.join(sorted(wanted))}: no scenario has that tag; "
            f"tags in these files: {', '.join(present) or 'none'}"
        )
    return chosen
