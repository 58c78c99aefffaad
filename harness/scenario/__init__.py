"""Scenario files: models, loading with line-numbered errors, JSON Schema export."""

from harness.scenario.loader import discover, load_scenario, load_scenarios, resolve_audio
from harness.scenario.models import (
    Action,
    Cancel,
    Clear,
    Commit,
    CreateResponse,
    Scenario,
    Sleep,
    Turn,
    TurnExpectations,
    WaitFor,
)
from harness.scenario.schema import scenario_json_schema

__all__ = [
    "Action",
    "Cancel",
    "Clear",
    "Commit",
    "CreateResponse",
    "Scenario",
    "Sleep",
    "Turn",
    "TurnExpectations",
    "WaitFor",
    "discover",
    "load_scenario",
    "load_scenarios",
    "resolve_audio",
    "scenario_json_schema",
]
