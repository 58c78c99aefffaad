"""The plugin resolves targets as `rth run` does: a scenario's own `target` wins over --rth-target."""

from __future__ import annotations

import pytest

from harness.errors import TargetError
from harness.pytest_plugin.state import RthState
from harness.scenario import Scenario


def scenario(target: str | None) -> Scenario:
    return Scenario.model_validate({"name": "s", "target": target, "turns": [{"say": "hello"}]})


def test_a_scenarios_own_target_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-plugin-test")
    state = RthState(target="https://api.openai.com/v1", model="gpt-realtime-mini")
    resolved = state.resolve_target(scenario("http://127.0.0.1:8089/v1"))
    assert resolved.target.base_url == "http://127.0.0.1:8089/v1"
    assert resolved.target.model == "gpt-realtime-mini" and not resolved.builtin
    assert resolved.is_standin  # a loopback URL: an `rth serve`, which gets the persona header
    default = state.resolve_target(scenario(None))
    assert default.target.base_url == "https://api.openai.com/v1" and not default.is_standin


def test_a_url_target_without_a_key_is_a_target_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(TargetError, match="OPENAI_API_KEY is not set"):
        RthState().resolve_target(scenario("https://api.openai.com/v1"))
