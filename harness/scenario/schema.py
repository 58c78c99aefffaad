"""JSON Schema of scenario files, for editors (``# yaml-language-server: $schema=...``)."""

from __future__ import annotations

from typing import Any

from harness.scenario.models import Scenario


def scenario_json_schema() -> dict[str, Any]:
    schema = Scenario.model_json_schema(mode="validation")
    schema.get("properties", {}).pop("source", None)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "rth scenario"
    return schema
