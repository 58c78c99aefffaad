"""`perturb` and `caller_voice` in scenario files: bounded, line-numbered errors, suite defaults
merged key by key under the scenario's and the turn's own settings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.errors import ScenarioError
from harness.scenario import load_scenarios
from harness.scenario.perturbation import Perturbation

# Every bounded number, with a value just outside each side of its range.
BOUNDS = {
    name: (info.metadata, info.annotation)
    for name, info in Perturbation.model_fields.items()
    if any(hasattr(m, attr) for m in info.metadata for attr in ("ge", "gt", "le"))
}


def _outside(field: str) -> st.SearchStrategy[float]:
    limits: dict[str, float] = {}
    for item in BOUNDS[field][0]:
        for attr in ("ge", "gt", "le"):
            if hasattr(item, attr):
                limits[attr] = getattr(item, attr)
    low = limits.get("ge", limits.get("gt"))
    options = []
    if low is not None:
        options.append(st.floats(low - 1000, low - (0 if "gt" in limits else 1)))
    if "le" in limits:
        options.append(st.floats(limits["le"] + 1, limits["le"] + 1000))
    return st.one_of(options).map(lambda v: int(v) if "int" in str(BOUNDS[field][1]) else round(v, 3))


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), field=st.sampled_from(sorted(BOUNDS)), where=st.sampled_from(["turn", "scenario"]))
def test_every_out_of_range_setting_is_one_line_naming_its_place(
    tmp_path: Path, write_scenario: Callable[..., Path], data: st.DataObject, field: str, where: str
) -> None:
    value = data.draw(_outside(field))
    if where == "turn":
        body = f"name: x\nturns:\n  - audio: WAV\n    perturb:\n      {field}: {value}\n"
        expected = f":5:{9 + len(field)}: turns[0].perturb.{field}: Input should be"
    else:
        body = f"name: x\nperturb:\n  {field}: {value}\nturns:\n  - audio: WAV\n"
        expected = f":3:{5 + len(field)}: perturb.{field}: Input should be"
    path = write_scenario(tmp_path, "s.yaml", body)
    with pytest.raises(ScenarioError) as caught:
        load_scenarios([path])
    assert caught.value.problems == [caught.value.problems[0]]
    assert expected in str(caught.value) and str(path) in str(caught.value)


def test_unknown_settings_and_voices_name_the_fix(
    tmp_path: Path, write_scenario: Callable[..., Path]
) -> None:
    path = write_scenario(
        tmp_path, "s.yaml", "name: x\ncaller_voice: bob\nturns:\n  - audio: WAV\n    perturb: {snr: 10}\n"
    )
    with pytest.raises(ScenarioError) as caught:
        load_scenarios([path])
    assert caught.value.problems[0].endswith(
        ":2:15: caller_voice: Input should be 'rms', 'slt', 'awb' or 'kal'"
    )
    assert ":5:15: turns[0].perturb.snr: unknown field 'snr'" in caught.value.problems[1]


def test_suite_defaults_merge_under_the_scenario_and_the_turn(
    tmp_path: Path, write_scenario: Callable[..., Path]
) -> None:
    path = write_scenario(
        tmp_path,
        "suite.yaml",
        "suite: noisy\ndefaults:\n  perturb: {noise_snr_db: 20, seed: 5}\n  caller_voice: slt\n"
        "scenarios:\n  - name: a\n    perturb: {noise_type: white}\n    turns:\n"
        "      - audio: WAV\n      - audio: WAV\n        perturb: {noise_snr_db: 5, telephone: true}\n"
        "  - name: b\n    perturb: {noise_snr_db: 0}\n    turns:\n      - say: hi\n",
    )
    a, b = load_scenarios([path])
    assert a.caller_voice == b.caller_voice == "slt"
    first, second = a.perturbation(0), a.perturbation(1)
    assert first is not None and first.settings() == {"noise_snr_db": 20, "seed": 5, "noise_type": "white"}
    assert second is not None and (second.noise_snr_db, second.telephone, second.noise_type) == (
        5,
        True,
        "white",
    )
    assert b.perturb is not None and b.perturb.settings() == {"noise_snr_db": 0, "seed": 5}
    assert Perturbation(seed=3).changes_audio is False  # a seed alone changes nothing: no work at load
