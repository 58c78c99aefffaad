"""Reports made in tests: the model objects with sensible defaults, and whole synthetic runs.

``ReportFactory`` (the ``reports`` fixture) builds RunReport / ScenarioReport / TurnReport /
Verdict objects: every required field has a default, any field can be given. ``write_run`` makes a
synthetic run directory for the renderer tests: real report.json, timeline.jsonl and WAVs, made
without any call, so every renderer is exercised in milliseconds with known numbers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from harness.metrics import score_wer
from harness.report.model import FailureKind, RunReport, ScenarioReport, TokenUsage, TurnReport, Verdict
from harness.report.prices import apply_prices, load_prices
from harness.report.usage import add_usage
from harness.report.writer import write_report
from harness.scoring import score_run

__all__ = ["ReportFactory"]

RUN_DEFAULTS: dict[str, Any] = {
    "run_id": "r",
    "tool_version": "0",
    "started_at": "",
    "target": "local",
    "connect_mode": "unified",
    "model": "gpt-realtime",
}
RATE = 48_000
TURNS = (
    ("weather", "What is the weather like in Paris today?"),
    ("booking", "Please book a table for two at seven tonight."),
)


def tone(seconds: float, lead_s: float = 0.2, freq: float = 220.0) -> np.ndarray:
    """Silence, then a tone burst, then silence: a stand-in for speech."""
    t = np.arange(int(seconds * RATE)) / RATE
    burst = 0.3 * np.sin(2 * np.pi * freq * t) * (t >= lead_s) * (t <= seconds - 0.2)
    return burst.astype(np.float32)


class ReportFactory:
    """Report objects for tests: defaults for what a test does not look at, keywords for the rest."""

    def run(self, **fields: Any) -> RunReport:
        """A RunReport: run "r", tool "0", target local, unified connect, model gpt-realtime."""
        return RunReport(**{**RUN_DEFAULTS, **fields})

    def scenario(self, **fields: Any) -> ScenarioReport:
        """A ScenarioReport named "s" (no turns unless given)."""
        return ScenarioReport(**{"name": "s", **fields})

    def turn(self, index: int = 0, **fields: Any) -> TurnReport:
        """A TurnReport named ``t<index>``."""
        return TurnReport(**{"index": index, "name": f"t{index}", **fields})

    def verdict(self, name: str = "check", passed: bool = True, **fields: Any) -> Verdict:
        return Verdict(name=name, passed=passed, **fields)

    def write_run(self, root: Path, **spec: Any) -> Path:
        """A finished synthetic run directory under ``root`` (report.json, timeline.jsonl, audio/);
        ``spec`` are the fields of ``Spec`` (run id, variants, repeats, latencies, failing turns)."""
        return write_run(self, root, Spec(**spec))


@dataclass
class Spec:
    run_id: str = "20250101-000000-aaaa"
    variants: list[dict[str, str]] = field(default_factory=lambda: [{}])
    repeats: int = 1
    # (variant, repeat, turn) -> first_audio_ms; default 800 + 100 * variant
    first_audio: Callable[[int, int, int], float] = lambda v, r, t: 800.0 + 100 * v + 10 * r + t
    failing: set[tuple[int, int, int]] = field(default_factory=set)  # (variant, repeat, turn)
    heard: dict[int, str] = field(
        default_factory=lambda: {1: "please book a table for two at eleven tonight"}
    )
    audio: bool = True  # write the WAVs (renderers that never read them can skip the cost)


def _turn(
    make: ReportFactory,
    index: int,
    name: str,
    text: str,
    spec: Spec,
    key: tuple[int, int, int],
    audio: str,
) -> TurnReport:
    heard = spec.heard.get(index, text)
    wer = score_wer(text, heard)
    first_audio = spec.first_audio(*key)
    bound = 700.0 if key in spec.failing else 3000.0
    return make.turn(
        index,
        name=name,
        text=text,
        audio_sent=f"{audio}/{index:02d}-{name}.sent.wav",
        audio_received=f"{audio}/{index:02d}-{name}.received.wav",
        audio_source=f"fixtures/{name}.wav",
        user_transcript=heard,
        assistant_transcript=f"Here is my answer about {name}.",
        input_wer=wer.to_dict(),
        response_id=f"resp_{key[0]}{key[1]}{index}",
        response_status="completed",
        audio_received_non_silent=True,
        audio_received_peak_dbfs=-10.5,
        latencies_ms={
            "first_audio_ms": first_audio,
            "response_done_ms": first_audio + 400,
            "voice_to_voice_ms": first_audio + 300,
            "commit_to_transcript_ms": 250.0 + index,
        },
        verdicts=[
            make.verdict("max_input_wer", wer.wer <= 0.5, measured=round(wer.wer, 4), bound=0.5),
            make.verdict("max_first_audio_ms", first_audio <= bound, measured=first_audio, bound=bound),
        ],
        usage=TokenUsage(
            responses=1, input_text=100, input_audio=50 + index, output_text=20, output_audio=200
        ),
    )


def _timeline(session: str, turns: list[TurnReport]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []

    def add(t: float, kind: str, type_: str, turn: int | None, data: dict[str, object] | None = None) -> None:
        rows.append(
            {
                "t": round(t, 6),
                "kind": kind,
                "type": type_,
                "session": session,
                "turn": turn,
                "data": data or {},
            }
        )

    add(0.0, "milestone", "connect.start", None)
    add(0.2, "received", "session.created", None, {"type": "session.created"})
    for turn in turns:
        start = 1.0 + turn.index * 5.0
        first_audio = float(turn.latencies_ms["first_audio_ms"] or 0) / 1000
        i = turn.index
        add(start, "milestone", "turn.start", i, {"name": turn.name})
        add(start + 0.01, "milestone", "audio.input.start", i, {"duration_s": 1.5})
        add(start + 1.51, "milestone", "audio.input.end", i, {"duration_s": 1.5})
        add(start + 1.52, "sent", "input_audio_buffer.commit", i, {"type": "input_audio_buffer.commit"})
        add(start + 1.53, "received", "input_audio_buffer.committed", i, {"item_id": f"item_{i}"})
        add(start + 1.54, "sent", "response.create", i, {"type": "response.create"})
        add(start + 1.56, "received", "response.created", i, {"response": {"id": turn.response_id}})
        add(start + 1.54 + first_audio, "milestone", "audio.output.onset", i, {})
        add(
            start + 3.5,
            "received",
            "response.done",
            i,
            {"response": {"id": turn.response_id, "status": "completed"}},
        )
        add(start + 4.0, "milestone", "turn.end", i, {"name": turn.name})
    return rows


def write_run(make: ReportFactory, root: Path, spec: Spec) -> Path:
    """A finished run directory under ``root`` (report.json, timeline.jsonl, audio/); returns it."""
    run_dir = root / spec.run_id
    report = make.run(
        run_id=spec.run_id,
        tool_version="0.1.0",
        started_at="2025-01-01T00:00:00+00:00",
        finished_at="2025-01-01T00:01:00+00:00",
        repeat=spec.repeats,
        matrix={k: sorted({v[k] for v in spec.variants}) for k in spec.variants[0]},
    )
    lines: list[str] = []
    for repeat in range(spec.repeats):
        for v_index, variant in enumerate(spec.variants):
            slug = "_".join(f"{k}-{v}" for k, v in variant.items())
            instance = "/".join(
                [p for p in (slug, "smoke") if p] + ([f"r{repeat + 1}"] if spec.repeats > 1 else [])
            )
            audio = f"audio/{instance}"
            (run_dir / audio).mkdir(parents=True, exist_ok=True)
            turns = [
                _turn(make, i, n, t, spec, (v_index, repeat, i), audio) for i, (n, t) in enumerate(TURNS)
            ]
            for turn in turns if spec.audio else []:
                sf.write(run_dir / str(turn.audio_sent), tone(1.5), RATE, subtype="PCM_16")
                sf.write(
                    run_dir / str(turn.audio_received),
                    tone(4.0, lead_s=2.4, freq=330),
                    RATE,
                    subtype="PCM_16",
                )
            for turn in turns:
                if not turn.passed:
                    turn.failure_kind = FailureKind.EXPECTATION
            scenario = make.scenario(
                name="smoke",
                instance=instance,
                variant=variant,
                repeat=repeat,
                model=variant.get("model", "gpt-realtime"),
                voice=variant.get("voice", "cedar"),
                connect_ms={"connect_total_ms": 300.0 + v_index},
                turns=turns,
                usage=add_usage(t.usage for t in turns),
            )
            report.scenarios.append(scenario)
            lines += [json.dumps(row) for row in _timeline(instance, turns)]
    (run_dir / "timeline.jsonl").write_text("\n".join(lines) + "\n")
    write_report(apply_prices(score_run(report, report.scenarios), load_prices()), run_dir / "report.json")
    return run_dir
