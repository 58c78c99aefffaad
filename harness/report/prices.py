"""Cost of token usage from a dated price table (TOML) that users can replace.

The default table ships with the package (``prices.toml``, documented in docs/prices.md). Prices
change, so every report records which table (date and source) its costs came from, and
``--prices FILE`` or ``RTH_PRICES`` swaps the table without touching the code.
"""

from __future__ import annotations

import os
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.errors import UsageError
from harness.report.model import RunReport, TokenUsage
from harness.report.usage import add_usage

PRICES_ENV = "RTH_PRICES"


class ModelPrice(BaseModel):
    """Dollars per ``per_tokens`` tokens of each kind."""

    model_config = ConfigDict(extra="forbid")

    text_input: float = Field(ge=0)
    text_cached_input: float = Field(ge=0)
    text_output: float = Field(ge=0)
    audio_input: float = Field(ge=0)
    audio_cached_input: float = Field(ge=0)
    audio_output: float = Field(ge=0)


class PriceTable(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: str = Field(description="The date the prices were read from the source (YYYY-MM-DD)")
    currency: str = "USD"
    per_tokens: int = Field(default=1_000_000, gt=0)
    source: str = ""
    models: dict[str, ModelPrice]
    path: str | None = Field(default=None, exclude=True)

    def price_of(self, model: str) -> ModelPrice | None:
        """The entry whose key is the longest prefix of ``model`` (dated snapshots share a price)."""
        keys = [key for key in self.models if model == key or model.startswith(key + "-")]
        return self.models[max(keys, key=len)] if keys else None

    def cost(self, model: str, usage: TokenUsage) -> float | None:
        price = self.price_of(model)
        if price is None:
            return None
        dollars = (
            (usage.input_text - usage.input_cached_text) * price.text_input
            + usage.input_cached_text * price.text_cached_input
            + (usage.input_audio - usage.input_cached_audio) * price.audio_input
            + usage.input_cached_audio * price.audio_cached_input
            + usage.output_text * price.text_output
            + usage.output_audio * price.audio_output
        )
        return round(dollars / self.per_tokens, 8)

    def describe(self) -> dict[str, Any]:
        """What a report records about the table it was priced with."""
        return {"as_of": self.as_of, "currency": self.currency, "source": self.source, "path": self.path}


def load_prices(path: Path | None = None) -> PriceTable:
    """``path``, else ``$RTH_PRICES``, else the table shipped with rth; bad files raise UsageError."""
    if path is None and os.environ.get(PRICES_ENV):
        path = Path(os.environ[PRICES_ENV])
    try:
        if path is None:
            text = resources.files("harness.report").joinpath("prices.toml").read_text(encoding="utf-8")
        else:
            text = path.read_text(encoding="utf-8")
        table = PriceTable.model_validate(tomllib.loads(text))
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the price table ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: invalid TOML in the price table: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise UsageError(f"{path}: price table field {where}: {first['msg']} (see docs/prices.md)") from None
    table.path = str(path) if path else None
    return table


def apply_prices(report: RunReport, table: PriceTable) -> RunReport:
    """Fill ``cost_usd`` on every usage in the report (turn, scenario, run) from ``table``."""
    for scenario in report.scenarios:
        model = scenario.model or report.model
        for turn in scenario.turns:
            if turn.usage is not None:
                turn.usage.cost_usd = table.cost(model, turn.usage)
        if scenario.usage is not None:
            scenario.usage.cost_usd = table.cost(model, scenario.usage)
    report.usage = add_usage(scenario.usage for scenario in report.scenarios)
    report.prices = table.describe()
    return report
