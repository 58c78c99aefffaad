"""Write ``report.json`` atomically, so a reader (or a crash) never sees half a file."""

from __future__ import annotations

import json
import os
from pathlib import Path

from harness.report.model import RunReport


def write_report(report: RunReport, path: Path) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report.model_dump(mode="json"), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_report(path: Path) -> RunReport:
    return RunReport.model_validate_json(path.read_text(encoding="utf-8"))
