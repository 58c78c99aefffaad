"""``rth serve --faults FILE.yaml``: a fault list loaded with the scenario loader's line-numbered errors.

The file is a mapping with one key, ``faults:``, holding the same entries as a scenario's
``faults:`` (the schema is :mod:`harness.protocol.faults`, which the stand-in shares).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from harness.errors import ScenarioError
from harness.protocol.faults import Fault, FaultsFile
from harness.scenario.loader import format_validation_errors, read_yaml

FAULTS_MAPPING = "a faults file must be a mapping with a 'faults' list (see docs/reliability.md)"


def load_faults_file(path: Path) -> tuple[Fault, ...]:
    """The faults of ``path``; :class:`ScenarioError` with every problem as ``file:line:col: field``."""
    document = read_yaml(path, mapping=FAULTS_MAPPING)
    try:
        return FaultsFile.model_validate(document.data).faults
    except ValidationError as exc:
        problems = format_validation_errors(document, exc)
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ScenarioError(problems[0] + more, problems=problems) from None
