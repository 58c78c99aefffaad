"""Base models for scenario files: strict (unknown fields are typos) and frozen.

Several fields accept a short form next to the full mapping (``wait_for: response.done``,
``audio: clip.wav``, ``first_audio_ms: 1200``). :class:`Shorthand` models expand it before
validation and publish both forms in the JSON Schema, so editors accept what the loader accepts.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, GetJsonSchemaHandler, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

# The bound of every duration in a scenario file (waits, sleeps, clip trims, latency budgets, VAD
# settings): no realtime session lasts longer (the API ends one after 60 minutes), and a bigger
# number is a slip (seconds written as milliseconds) that would only fail mid-run, or overflow a timer.
HOUR_MS = 3_600_000


class Strict(BaseModel):
    """Unknown fields are typos; numbers are finite (``.inf`` and ``.nan`` are refused)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ShortForm(Strict):
    """A model that also loads from a scalar; :meth:`short_schema` is that scalar's JSON Schema."""

    @classmethod
    def short_schema(cls) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        target = handler.resolve_ref_schema(schema)
        full = dict(target)
        target.clear()
        target["title"] = full.pop("title", cls.__name__)
        if "description" in full:
            target["description"] = full.pop("description")
        target["anyOf"] = [cls.short_schema(), full]
        return schema


class Shorthand(ShortForm):
    """A scalar fills the field named ``SHORT_FIELD`` (``audio: clip.wav`` -> ``{path: clip.wav}``)."""

    SHORT_FIELD: ClassVar[str]
    SHORT_SCHEMA: ClassVar[dict[str, Any]]

    @classmethod
    def short_schema(cls) -> dict[str, Any]:
        return cls.SHORT_SCHEMA

    @model_validator(mode="before")
    @classmethod
    def _expand_short_form(cls, data: Any) -> Any:
        if isinstance(data, str | int | float) and not isinstance(data, bool):
            return {cls.SHORT_FIELD: data}
        return data


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` wins key by key; nested mappings merge, except when their ``type`` differs
    (``server_vad`` settings make no sense inside ``semantic_vad``), then the override replaces."""
    merged = dict(base)
    for key, value in override.items():
        old = merged.get(key)
        if (
            isinstance(old, dict)
            and isinstance(value, dict)
            and ("type" not in old or "type" not in value or old["type"] == value["type"])
        ):
            merged[key] = deep_merge(old, value)
        else:
            merged[key] = value
    return merged
