"""Repeat/matrix scheduling: the cross product, the fair order, the voice override, the names."""

from __future__ import annotations

import pytest

from harness.errors import UsageError
from harness.runner.plan import build_plan, parse_matrix, variants, voice_of
from harness.scenario import Scenario


def scenario(name: str) -> Scenario:
    return Scenario.model_validate(
        {
            "name": name,
            "session": {"instructions": "Be brief.", "audio": {"output": {"voice": "cedar", "speed": 1.1}}},
            "turns": [{"say": "hello"}],
        }
    )


def test_matrix_options_parse_into_axes() -> None:
    assert parse_matrix(["model=gpt-realtime, gpt-realtime-mini", "voice=cedar,marin"]) == {
        "model": ["gpt-realtime", "gpt-realtime-mini"],
        "voice": ["cedar", "marin"],
    }
    for bad, message in (
        (["pitch=1,2"], "AXIS one of model, voice, caller_voice, seed, speed"),
        (["speed=1,3"], r"speed=3: Input should be less than or equal to 2"),
        (["noise_snr_db=loud"], "noise_snr_db=loud: Input should be a valid number"),
        (["caller_voice=rms,bob"], "caller_voice=bob: use one of rms, slt, awb, kal"),
        (["model"], "expected AXIS=VALUE"),
        (["model="], "at least one value"),
        (["model=a", "model=b"], "given twice"),
        (["voice=a,a"], "repeated"),
    ):
        with pytest.raises(UsageError, match=message):
            parse_matrix(bad)


def test_plan_is_the_cross_product_with_repeats_outermost() -> None:
    matrix = {"model": ["a", "b"], "voice": ["cedar", "marin"]}
    assert [v.label for v in variants(matrix)] == [
        "model=a,voice=cedar",
        "model=a,voice=marin",
        "model=b,voice=cedar",
        "model=b,voice=marin",
    ]
    plan = build_plan([scenario("one"), scenario("two")], repeat=3, matrix=matrix)
    assert len(plan) == 3 * 4 * 2
    assert [p.repeat for p in plan[:8]] == [0] * 8  # every variant before the next repetition
    first = plan[1]
    assert first.instance == "model-a_voice-cedar/two/r1"
    assert plan[-1].instance == "model-b_voice-marin/two/r3"
    assert len({p.instance for p in plan}) == len(plan)


def test_voice_axis_overrides_only_the_voice() -> None:
    plan = build_plan([scenario("one")], matrix={"voice": ["marin"]})
    applied = plan[0].scenario
    assert voice_of(applied) == "marin"
    assert applied.session.payload() == {
        "instructions": "Be brief.",
        "audio": {"output": {"voice": "marin", "speed": 1.1}},
    }
    assert voice_of(scenario("one")) == "cedar"


def test_perturbation_axes_win_over_what_the_scenario_and_its_turns_declare() -> None:
    declared = Scenario.model_validate(
        {
            "name": "noisy",
            "perturb": {"noise_snr_db": 40, "noise_type": "white", "seed": 7},
            "turns": [{"say": "hello"}, {"say": "again", "perturb": {"noise_snr_db": 20, "speed": 1.1}}],
        }
    )
    plan = build_plan([declared], matrix=parse_matrix(["noise_snr_db=30,0", "caller_voice=awb"]))
    assert [p.variant.label for p in plan] == [
        "noise_snr_db=30,caller_voice=awb",
        "noise_snr_db=0,caller_voice=awb",
    ]
    last = plan[1].scenario
    assert last.caller_voice == "awb"
    first, second, own = last.perturbation(0), last.perturbation(1), declared.perturbation(1)
    assert first is not None and first.settings() == {"noise_snr_db": 0.0, "noise_type": "white", "seed": 7}
    assert second is not None and (second.noise_snr_db, second.speed, second.seed) == (0, 1.1, 7)
    assert own is not None and own.noise_snr_db == 20  # the scenario itself is unchanged


def test_a_plain_run_keeps_the_scenario_name_as_instance() -> None:
    plan = build_plan([scenario("smoke")])
    assert [(p.instance, p.variant.label) for p in plan] == [("smoke", "")]
    with pytest.raises(UsageError, match="--repeat 0"):
        build_plan([scenario("smoke")], repeat=0)
