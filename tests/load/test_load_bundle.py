"""Files that cross machines with a Ray worker: every file a scenario reads goes with it and is read
from the worker's own folder; what sampled sessions wrote comes back into the run directory only."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.load.bundle import land_outputs, named_files, pack_inputs, pack_outputs, unpack_inputs
from harness.scenario import load_suite

SCENARIO = """
name: travels
persona: persona.yaml
turns:
  - audio: clips/book_table.wav
  - audio: {path: clips/tell_story.wav, gain_db: -3}
    actions:
      - commit
      - create_response
      - barge_in: {after: output_audio_buffer.started, audio: clips/thank_you.wav}
      - {wait_for: response.done}
  - say: And again.
"""


def test_a_scenarios_files_travel_with_it_and_are_read_from_the_workers_folder(
    tmp_path: Path, audio_fixtures: Path, repo_root: Path
) -> None:
    driver = tmp_path / "driver"
    (driver / "clips").mkdir(parents=True)
    for name in ("book_table.wav", "tell_story.wav", "thank_you.wav"):
        shutil.copy(audio_fixtures / name, driver / "clips" / name)
    shutil.copy(repo_root / "examples" / "personas" / "restaurant.yaml", driver / "persona.yaml")
    (driver / "suite.yaml").write_text(SCENARIO, encoding="utf-8")
    (scenario,) = load_suite([driver / "suite.yaml"]).scenarios

    inputs = pack_inputs((scenario,))
    assert len(inputs.files) == 4
    shutil.rmtree(driver)  # the worker's machine does not have the driver's disk
    (moved,) = unpack_inputs(inputs, tmp_path / "worker")

    files = named_files(moved)
    assert len(files) == 4 and all(path.is_relative_to(tmp_path / "worker") for path in files)
    assert [path.read_bytes() for path in files] == list(inputs.files.values())
    assert moved.turns[1].audio is not None and moved.turns[1].audio.gain_db == -3
    assert moved.turns[2].say == "And again."
    assert moved.model_dump(exclude={"turns", "persona"}) == scenario.model_dump(exclude={"turns", "persona"})


def test_outputs_land_in_the_run_directory_and_never_outside_it(tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    (remote / "audio" / "w0" / "00000-s").mkdir(parents=True)
    (remote / "audio" / "w0" / "00000-s" / "00-t.received.wav").write_bytes(b"RIFF")
    (remote / "timeline.w0.jsonl").write_text("{}\n")
    packed = pack_outputs(remote)
    assert set(packed) == {"audio/w0/00000-s/00-t.received.wav", "timeline.w0.jsonl"}
    run_dir = tmp_path / "run"
    land_outputs(packed, run_dir)
    assert (run_dir / "audio/w0/00000-s/00-t.received.wav").read_bytes() == b"RIFF"
    for escape in ("../outside.txt", "/tmp/outside.txt", "audio/../../outside.txt"):
        with pytest.raises(ValueError, match="outside the run directory"):
            land_outputs({escape: b"x"}, run_dir)
    assert not (tmp_path / "outside.txt").exists()
