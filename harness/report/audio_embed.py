"""Audio for the HTML report: WAVs re-encoded as Ogg/Opus data URIs, so index.html plays offline.

Opus at 48 kHz mono is about a tenth of the PCM size, which keeps a report with dozens of turns
small enough to open and to mail. Past a size budget (huge repeat runs) the report links the WAV
files of the run directory instead, which work as long as the folder stays together.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import soundfile

OPUS_RATES = (8000, 12000, 16000, 24000, 48000)
DEFAULT_BUDGET_BYTES = 40 * 1024 * 1024


class AudioEmbedder:
    """Turns a WAV path into an ``src`` for ``<audio>``: a data URI while the budget lasts."""

    def __init__(self, root: Path, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        self.root = root
        self.budget = budget_bytes
        self.used = 0

    def src(self, relative: str | None) -> str | None:
        """None when there is no such file; else a data URI or the path relative to the report."""
        if not relative:
            return None
        path = Path(relative) if Path(relative).is_absolute() else self.root / relative
        if not path.is_file():
            return None
        if self.used < self.budget:
            uri = encode(path)
            if uri is not None:
                self.used += len(uri)
                return uri
        return path.resolve().as_uri() if Path(relative).is_absolute() else relative


def encode(path: Path) -> str | None:
    """``data:audio/ogg;base64,...`` (Opus), or the WAV itself when Opus cannot take its rate."""
    try:
        info = soundfile.info(str(path))
        if info.samplerate in OPUS_RATES:
            data, rate = soundfile.read(str(path), dtype="float32")
            buffer = io.BytesIO()
            soundfile.write(buffer, data, rate, format="OGG", subtype="OPUS")
            return "data:audio/ogg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
        return "data:audio/wav;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
    except (OSError, RuntimeError, soundfile.LibsndfileError):
        return None
