"""Scenario files: models, loading with line-numbered errors, suites and includes, JSON Schema."""

from harness.scenario.actions import (
    ACTION_NAMES,
    Action,
    AudioClip,
    BargeIn,
    Cancel,
    Clear,
    ClearOutput,
    Commit,
    CreateResponse,
    Send,
    Sleep,
    WaitFor,
)
from harness.scenario.compose import (
    Checked,
    LoadedFile,
    check,
    load_file,
    load_files,
    load_scenario,
    load_scenarios,
    load_suite,
    resolve_audio,
    select_tagged,
)
from harness.scenario.events import EventPattern, server_event_types
from harness.scenario.expectations import LatencyBudget, ScenarioExpectations, TurnExpectations
from harness.scenario.loader import discover
from harness.scenario.models import Scenario, Suite, Turn, TurnMode
from harness.scenario.schema import scenario_json_schema
from harness.scenario.session import ResponseOverrides, SessionConfig

__all__ = [
    "ACTION_NAMES",
    "Action",
    "AudioClip",
    "BargeIn",
    "Cancel",
    "Checked",
    "Clear",
    "ClearOutput",
    "Commit",
    "CreateResponse",
    "EventPattern",
    "LatencyBudget",
    "LoadedFile",
    "ResponseOverrides",
    "Scenario",
    "ScenarioExpectations",
    "Send",
    "SessionConfig",
    "Sleep",
    "Suite",
    "Turn",
    "TurnExpectations",
    "TurnMode",
    "WaitFor",
    "check",
    "discover",
    "load_file",
    "load_files",
    "load_scenario",
    "load_scenarios",
    "load_suite",
    "resolve_audio",
    "scenario_json_schema",
    "select_tagged",
    "server_event_types",
]
