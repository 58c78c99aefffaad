"""JSON Schema of scenario and suite files, for editors (``# yaml-language-server: $schema=...``).

It accepts exactly what the loader accepts, short forms included (``commit``,
``wait_for: response.done``, ``audio: clip.wav``); a test validates the shipped files against it.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from harness.scenario.models import Scenario, Suite


def scenario_json_schema() -> dict[str, Any]:
    schema = TypeAdapter(Scenario | Suite).json_schema(mode="validation")
    schema["$defs"]["Scenario"]["properties"].pop("source", None)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "rth scenario or suite",
        "description": "A scenario (name + turns) or a suite (scenarios and/or include, with defaults).",
        **schema,
    }
