"""Token usage from response.done and its cost from the dated price table (built-in or a user's)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from harness.errors import UsageError
from harness.report.model import TokenUsage
from harness.report.prices import apply_prices, load_prices
from harness.report.usage import add_usage, usage_of
from harness.scoring.usage import SessionUsage
from harness.timeline import EntryKind, TimelineEntry

if TYPE_CHECKING:
    from tests.support.reports import ReportFactory

USAGE = {
    "total_tokens": 1360,
    "input_tokens": 360,
    "output_tokens": 1000,
    "input_token_details": {
        "text_tokens": 100,
        "audio_tokens": 260,
        "cached_tokens": 60,
        "cached_tokens_details": {"text_tokens": 20, "audio_tokens": 40},
    },
    "output_token_details": {"text_tokens": 200, "audio_tokens": 800},
}


def received(t: float, type_: str, turn: int | None, response: dict[str, object]) -> TimelineEntry:
    return TimelineEntry(t=t, kind=EntryKind.RECEIVED, type=type_, turn=turn, data={"response": response})


def test_usage_is_read_per_response_and_billed_to_the_turn_that_created_it(reports: ReportFactory) -> None:
    entries = [
        received(1.0, "response.created", 0, {"id": "r1"}),
        received(2.0, "response.done", 0, {"id": "r1", "usage": USAGE}),
        received(3.0, "response.created", 1, {"id": "r2"}),
        received(3.5, "response.created", 1, {"id": "r3"}),  # a retry in the same turn
        received(4.0, "response.done", 1, {"id": "r2", "usage": USAGE}),
        received(5.0, "response.done", None, {"id": "r3", "usage": USAGE}),  # arrived after the turn
    ]
    usage = SessionUsage(entries)
    first, second = usage.of_turn(0, "r1"), usage.of_turn(1, None)
    assert first == usage_of({"usage": USAGE})
    assert second is not None and second.responses == 2
    assert usage.total is not None and usage.total.total_tokens == 3 * 1360
    one = first
    assert one is not None
    assert (one.input_text, one.input_audio, one.input_cached_text, one.input_cached_audio) == (
        100,
        260,
        20,
        40,
    )
    assert (one.output_text, one.output_audio) == (200, 800)


def test_cost_uses_cached_and_uncached_prices_of_the_longest_matching_model() -> None:
    table = load_prices()
    usage = usage_of({"usage": USAGE})
    assert usage is not None
    # gpt-realtime-mini per 1M: text 0.60 / cached 0.06 / out 2.40; audio 10 / cached 0.30 / out 20
    expected = (80 * 0.60 + 20 * 0.06 + 220 * 10.0 + 40 * 0.30 + 200 * 2.40 + 800 * 20.0) / 1e6
    assert table.cost("gpt-realtime-mini-2025-10-06", usage) == pytest.approx(expected)
    assert table.price_of("gpt-realtime-2025-08-28") == table.models["gpt-realtime"]
    assert table.cost("some-other-model", usage) is None
    assert table.as_of and table.source.startswith("https://")


def test_apply_prices_fills_turn_scenario_and_run_costs_and_records_the_table(
    tmp_path: Path, reports: ReportFactory
) -> None:
    custom = tmp_path / "prices.toml"
    custom.write_text(
        'as_of = "2030-01-01"\nsource = "my contract"\n[models."gpt-realtime"]\n'
        "text_input = 1\ntext_cached_input = 1\ntext_output = 1\n"
        "audio_input = 1\naudio_cached_input = 1\naudio_output = 1\n"
    )
    usage = TokenUsage(responses=1, input_text=500_000, output_audio=500_000)
    report = reports.run(
        scenarios=[reports.scenario(turns=[reports.turn(0, name="a", usage=usage)], usage=usage)]
    )
    apply_prices(report, load_prices(custom))
    assert report.scenarios[0].turns[0].usage is not None
    assert report.scenarios[0].turns[0].usage.cost_usd == pytest.approx(1.0)
    assert report.usage is not None and report.usage.cost_usd == pytest.approx(1.0)
    assert report.prices == {
        "as_of": "2030-01-01",
        "currency": "USD",
        "source": "my contract",
        "path": str(custom),
    }


def test_prices_from_the_environment_and_bad_tables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('as_of = "2030-01-01"\n[models."m"]\ntext_input = -1\n')
    monkeypatch.setenv("RTH_PRICES", str(bad))
    with pytest.raises(UsageError, match=r"bad.toml: price table field models\.m"):
        load_prices()
    bad.write_text("as_of = \n")
    with pytest.raises(UsageError, match="invalid TOML"):
        load_prices(bad)
    with pytest.raises(UsageError, match="cannot read"):
        load_prices(tmp_path / "missing.toml")


def test_add_usage_keeps_cost_only_when_every_part_has_one() -> None:
    priced = TokenUsage(responses=1, input_text=10, cost_usd=0.5)
    assert add_usage([priced, priced]) == TokenUsage(responses=2, input_text=20, cost_usd=1.0)
    summed = add_usage([priced, TokenUsage(responses=1)])
    assert summed is not None and summed.cost_usd is None
    assert add_usage([None, None]) is None
