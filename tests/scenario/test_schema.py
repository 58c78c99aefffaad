"""The exported JSON Schema accepts what the loader accepts: the shipped scenarios and every YAML
example in docs/scenarios.md load, and validate against the schema an editor would use."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.scenario import check, scenario_json_schema

jsonschema = pytest.importorskip("jsonschema")


def doc_examples(repo_root: Path) -> list[str]:
    doc = repo_root / "docs" / "scenarios.md"
    return re.findall(r"```yaml\n(.*?)```", doc.read_text(encoding="utf-8"), flags=re.DOTALL)


@pytest.fixture(scope="module")
def validator() -> Any:
    schema = scenario_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_committed_schema_is_current(repo_root: Path) -> None:
    committed = json.loads((repo_root / "docs" / "scenario.schema.json").read_text(encoding="utf-8"))
    assert committed == scenario_json_schema(), "run: rth schema > docs/scenario.schema.json"


def test_shipped_scenarios_load(repo_root: Path) -> None:
    checked = check([repo_root / "scenarios"])
    assert checked.problems == []
    assert {s.name for s in checked.scenarios} >= {"smoke", "modes", "interruptions"}


def test_shipped_scenarios_fit_the_schema(validator: Any, shipped_scenario: Path) -> None:
    data = yaml.safe_load(shipped_scenario.read_text(encoding="utf-8"))
    errors = [e.message for e in validator.iter_errors(data)]
    assert errors == []


def test_doc_examples_load_and_fit_the_schema(validator: Any, tmp_path: Path, repo_root: Path) -> None:
    examples = doc_examples(repo_root)
    assert len(examples) >= 5
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (tmp_path / "fixtures").symlink_to(repo_root / "fixtures")
    (folder / "smoke.yaml").symlink_to(repo_root / "scenarios" / "smoke.yaml")
    for number, text in enumerate(examples):
        data = yaml.safe_load(text)
        if "turns" not in data and "scenarios" not in data and "include" not in data:
            continue  # a fragment (e.g. a session object), not a whole file
        assert [e.message for e in validator.iter_errors(data)] == [], f"example {number}"
        (folder / f"example{number}.yaml").write_text(text, encoding="utf-8")
    checked = check([folder])
    assert checked.problems == []
    assert len(checked.scenarios) >= 5


@pytest.mark.parametrize(
    "bad",
    [
        {"name": "x", "turns": [{"actions": ["comit"]}]},
        {"name": "x", "turns": [{"audio": {"path": "a.wav", "gain": 3}}]},
        {"name": "x", "turns": [{"expect": {"latency": {"first_audio": 3}}}]},
        {
            "name": "x",
            "session": {"audio": {"input": {"turn_detection": {"type": "server_vad", "eagerness": "low"}}}},
            "turns": [{}],
        },
        {"scenarios": [{"name": "x", "turns": [{"mode": "push"}]}]},
    ],
)
def test_schema_rejects_what_the_loader_rejects(validator: Any, bad: dict[str, Any]) -> None:
    assert list(validator.iter_errors(bad)), "an editor would accept this"
