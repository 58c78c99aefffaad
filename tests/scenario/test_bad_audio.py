"""Whatever audio file ``rth validate`` accepts, a run can send: random bytes and WAV headers with
random fields (rate, channels, sample format, a data size that lies) go through the validation
check and the run's own clip preparation, which must agree (hypothesis, derandomized)."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.protocol import SAMPLE_RATE
from harness.runner.speech import prepare_clip
from harness.scenario import AudioClip, Scenario
from harness.scenario.audio_check import audio_problem

if TYPE_CHECKING:
    from tests.support.cli import Cli

SETTINGS = settings(max_examples=80, derandomize=True, deadline=None)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bad-audio")


def wav(fmt: int, channels: int, rate: int, bits: int, data: bytes, claimed: int | None) -> bytes:
    block = max(1, channels * bits // 8)
    fmt_chunk = struct.pack("<HHIIHH", fmt, channels, rate, rate * block & 0xFFFFFFFF, block & 0xFFFF, bits)
    size = len(data) if claimed is None else claimed
    body = b"WAVEfmt " + struct.pack("<I", len(fmt_chunk)) + fmt_chunk + b"data" + struct.pack("<I", size)
    return b"RIFF" + struct.pack("<I", (len(body) + len(data)) & 0xFFFFFFFF) + body + data


# Formats libsndfile reads (PCM widths, float, A-law, mu-law) with odd rates, channel counts and
# data sizes; then headers with any field at all.
PLAUSIBLE = st.sampled_from([(1, 8), (1, 16), (1, 24), (1, 32), (3, 32), (3, 64), (6, 8), (7, 8)]).flatmap(
    lambda format_bits: st.builds(
        wav,
        fmt=st.just(format_bits[0]),
        channels=st.sampled_from([1, 1, 1, 1, 2, 2, 3, 8, 9, 0]),
        rate=st.sampled_from([8000, 16000, 22050, 24000, 44100, 48000, 48000, 96000, 192000, 1, 384000]),
        bits=st.just(format_bits[1]),
        data=st.binary(min_size=1, max_size=4000) | st.just(b""),
        claimed=st.none() | st.none() | st.integers(0, 2**32 - 1),
    )
)
ANY_HEADER = st.builds(
    wav,
    fmt=st.integers(0, 0xFFFF),
    channels=st.integers(0, 0xFFFF),
    rate=st.integers(0, 2**32 - 1),
    bits=st.sampled_from([0, 7, 8, 16, 24, 32, 64]),
    data=st.binary(max_size=2000),
    claimed=st.none() | st.integers(0, 2**32 - 1),
)
FILES = st.one_of(PLAUSIBLE, PLAUSIBLE, PLAUSIBLE, ANY_HEADER, st.binary(max_size=600))


@SETTINGS
@given(content=FILES, offset_ms=st.sampled_from([0, 0, 5, 10_000]))
def test_validate_and_the_run_agree_on_any_audio_file(folder: Path, content: bytes, offset_ms: int) -> None:
    path = folder / "clip.wav"
    path.write_bytes(content)
    clip = AudioClip(path=path, offset_ms=offset_ms)
    problem = audio_problem(path, clip)
    if problem is not None:
        assert "\n" not in problem and "; " in problem  # one line, with its fix
        return
    scenario = Scenario(name="audio", turns=[{"audio": clip}], source=folder / "audio.yaml")
    prepared = prepare_clip(scenario, clip, folder / "sent.wav")  # what a run does first: must work
    assert prepared.duration_s > 0
    assert prepared.duration_s * SAMPLE_RATE >= 1


def test_a_wav_of_random_bytes_fails_in_validate_not_in_run(tmp_path: Path, run_cli: Cli) -> None:
    noise = tmp_path / "noise.wav"
    noise.write_bytes(bytes(range(256)) * 8)
    scenario = tmp_path / "noisy.yaml"
    scenario.write_text("name: noisy\nturns:\n  - audio: noise.wav\n")
    validated = run_cli("validate", str(scenario))
    assert validated.exit_code == 2
    assert f"{scenario}:3:12: turns[0].audio: {noise}: not a readable audio file" in validated.stderr
    ran = run_cli("run", str(scenario), "--out", str(tmp_path / "reports"))
    assert ran.exit_code == 2 and len(ran.output.strip().splitlines()) == 1
    assert "not a readable audio file" in ran.output and "Traceback" not in ran.output
    assert not (tmp_path / "reports").exists()  # refused before the run started
