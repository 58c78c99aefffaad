"""A perturbation matrix end to end: the caller-voice clip made by `rth fixtures synth`, `rth run
--matrix noise_snr_db=30,0 --matrix caller_voice=kal` over real loopback WebRTC against the
stand-in, then `rth compare` of the variants. The other voice was played, the noise really went on
the wire at the level asked, and the recogniser at the far end heard the difference."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import soundfile

from harness.client.audio_source import load_wav
from harness.fixtures import noise

if TYPE_CHECKING:
    from tests.support.cli import Cli, CliResult

SCENARIO = """name: ask
turns:
  - name: weather
    audio: audio/weather_paris.wav
    text: What is the weather like in Paris today?
    actions: [commit, {create_response: {instructions: 'Say "OK."'}}, {wait_for: response.done}]
    expect: {response_status: completed}
"""


@pytest.fixture(scope="module")
def matrix(
    tmp_path_factory: pytest.TempPathFactory, audio_fixtures: Path, run_cli: Cli
) -> tuple[CliResult, CliResult, Path]:
    work = tmp_path_factory.mktemp("perturb")
    (work / "audio").mkdir()
    for name in ("weather_paris.wav", "weather_paris.json"):
        shutil.copy(audio_fixtures / name, work / "audio" / name)
    scenario = work / "ask.yaml"
    scenario.write_text(SCENARIO)
    synth = run_cli("fixtures", "synth", str(scenario), "--voice", "kal")
    assert synth.exit_code == 0 and (work / "audio/weather_paris.kal.wav").is_file(), synth.output
    out = work / "reports"
    # Two sessions for the stand-in's two recognisers: the clean transcript must not queue behind
    # the slow decoding of the noisy one past the hang-up (the point is what was heard, not when).
    axes = ("--matrix", "noise_snr_db=30,0", "--matrix", "caller_voice=kal")
    ran = run_cli(
        "run", str(scenario), "--out", str(out), *axes, "--concurrency", "2", in_subprocess=True, timeout=300
    )
    run_dir = (out / "latest").resolve()
    compared = run_cli("compare", str(run_dir), "--resamples", "200", "--out", str(work / "compare"))
    return ran, compared, run_dir


def _sessions(run_dir: Path) -> dict[str, dict[str, Any]]:
    report = json.loads((run_dir / "report.json").read_text())
    return {",".join(f"{k}={v}" for k, v in s["variant"].items()): s for s in report["scenarios"]}


def test_every_variant_ran_with_its_noise_and_caller_voice(matrix: tuple[CliResult, CliResult, Path]) -> None:
    ran, _, run_dir = matrix
    assert ran.exit_code == 0, ran.output
    sessions = _sessions(run_dir)
    assert sorted(sessions) == ["noise_snr_db=0,caller_voice=kal", "noise_snr_db=30,caller_voice=kal"]
    for label, session in sessions.items():
        turn = session["turns"][0]
        assert turn["audio_source"].endswith("audio/weather_paris.kal.wav")
        assert turn["perturbation"] == {"noise_snr_db": float(label.split(",")[0].split("=")[1])}
        sent = load_wav(run_dir / turn["audio_sent"])
        clean = load_wav(Path(turn["audio_source"]) if Path(turn["audio_source"]).is_absolute()
                         else run_dir / turn["audio_source"])  # fmt: skip
        added = (sent.astype(np.float64) - clean) / 32768
        snr = 20 * np.log10(noise.active_rms(clean / 32768, 48_000) / np.sqrt(np.mean(added**2)))
        assert snr == pytest.approx(turn["perturbation"]["noise_snr_db"], abs=0.3)
        assert soundfile.info(str(run_dir / turn["audio_sent"])).samplerate == 48_000


def test_the_far_end_heard_the_noise(matrix: tuple[CliResult, CliResult, Path]) -> None:
    _, _, run_dir = matrix
    sessions = _sessions(run_dir)
    quiet = sessions["noise_snr_db=30,caller_voice=kal"]["turns"][0]["input_wer"]["wer"]
    loud = sessions["noise_snr_db=0,caller_voice=kal"]["turns"][0]["input_wer"]["wer"]
    assert loud > quiet, (quiet, loud)


def test_compare_shows_the_variants_side_by_side_with_intervals(
    matrix: tuple[CliResult, CliResult, Path],
) -> None:
    _, compared, run_dir = matrix
    assert compared.exit_code == 0, compared.output
    assert "comparison (bootstrap 95% CI" in compared.stdout and "input WER" in compared.stdout
    markdown = next(run_dir.parent.parent.glob("compare/*.md")).read_text()
    assert "| noise_snr_db=30,caller_voice=kal (baseline) |" in markdown
    assert "noise_snr_db=0,caller_voice=kal" in markdown
    wer_row = next(line for line in markdown.splitlines() if line.startswith("| input WER"))
    assert wer_row.count("[") >= 1 and "Δ" in wer_row  # the baseline's interval, the others' deltas
