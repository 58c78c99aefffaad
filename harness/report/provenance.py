"""What a report records about how it was made: scenario files with hashes, environment, CI run.

Enough to tell later whether two runs are comparable (same scenario bytes, same audio, same
tool and library versions) without keeping anything secret: no keys, no host names, no env dump.
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

from harness.report.model import ScenarioFile

PACKAGES = ("aiortc", "aioice", "av", "openai", "numpy", "jiwer", "whisper-normalizer", "pocketsphinx")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def _shown(path: Path) -> str:
    """Relative to the working directory when below it (stable across machines), else absolute."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path.resolve())


def scenario_file(path: Path, audio: Iterable[Path]) -> ScenarioFile:
    """The file's text and hash, and the hash of every WAV it plays (missing files are skipped)."""
    return ScenarioFile(
        path=_shown(path),
        sha256=sha256_of(path),
        text=path.read_text(encoding="utf-8"),
        audio_sha256={_shown(wav): sha256_of(wav) for wav in sorted(set(audio)) if wav.is_file()},
    )


def _ci() -> dict[str, str]:
    """The CI run that produced the report (GitHub Actions), to link results back to a commit."""
    if os.environ.get("GITHUB_ACTIONS") != "true":
        return {}
    keys = (
        "GITHUB_REPOSITORY",
        "GITHUB_SHA",
        "GITHUB_REF",
        "GITHUB_RUN_ID",
        "GITHUB_RUN_ATTEMPT",
        "GITHUB_WORKFLOW",
    )
    return {"provider": "github", **{key.lower(): os.environ[key] for key in keys if os.environ.get(key)}}


def environment() -> dict[str, Any]:
    versions: dict[str, str] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    env: dict[str, Any] = {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "packages": versions,
    }
    ci = _ci()
    if ci:
        env["ci"] = ci
    return env
