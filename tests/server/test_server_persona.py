"""Personas: rule matching and replies, file errors, the shipped examples, ``rth serve --persona``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from harness.server.persona import (
    PersonaError,
    default_persona,
    instructed_reply,
    load_persona,
    parse_persona,
)

if TYPE_CHECKING:
    from tests.support.cli import Cli


def test_rules_in_order_with_groups_and_fallback() -> None:
    persona = parse_persona(
        {
            "rules": [
                {"match": r"table for (?P<people>\w+)", "reply": "Booked for {people} ({1})."},
                {"match": "table", "reply": "Which table?"},
                {"match": "weather", "reply": "Sunny; you asked: {transcript}."},
            ],
            "fallback": "Pardon? {transcript}",
            "no_speech": "Hello?",
        }
    )
    assert persona.reply("Book a TABLE for two.") == "Booked for two (two)."
    assert persona.reply("a table please") == "Which table?"
    assert persona.reply("what is the weather.") == "Sunny; you asked: what is the weather."
    assert persona.reply("something else") == "Pardon? something else"
    assert persona.reply("  ") == "Hello?"
    assert default_persona().reply("hello there") == "You said: hello there."


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"rules": [{"match": "(", "reply": "x"}]}, "bad regular expression"),
        ({"rules": [{"match": "a", "reply": "{nope}"}]}, "unknown placeholder(s) {nope}"),
        ({"rules": [{"match": "a"}]}, "exactly 'match' and 'reply'"),
        ({"rules": {"match": "a"}}, "'rules' must be a list"),
        ({"fallback": "{1}"}, "fallback: unknown placeholder"),
        ({"rulez": []}, "unknown key(s): rulez"),
        ([], "expected a mapping"),
    ],
)
def test_bad_personas_name_the_problem(data: object, problem: str) -> None:
    with pytest.raises(PersonaError) as raised:
        parse_persona(data)
    assert problem in str(raised.value)


def test_files_and_the_shipped_examples(tmp_path: Path, repo_root: Path) -> None:
    examples = sorted((repo_root / "examples" / "personas").glob("*.yaml"))
    assert examples, "examples/personas/ ships persona files"
    for path in examples:
        persona = load_persona(path)
        assert persona.rules and persona.source == path
    broken = tmp_path / "broken.yaml"
    broken.write_text("rules: [\n")
    with pytest.raises(PersonaError, match=r"broken\.yaml: not valid YAML"):
        load_persona(broken)
    with pytest.raises(PersonaError, match="cannot read"):
        load_persona(tmp_path / "missing.yaml")


def test_instructions_can_script_the_reply() -> None:
    assert instructed_reply('Say "Welcome back!" and nothing else.') == "Welcome back!"
    assert instructed_reply("Say exactly: Hello there.") == "Hello there."
    assert instructed_reply("Be brief and friendly.") is None
    assert instructed_reply(None) is None


def test_serve_rejects_a_bad_persona_in_one_line(tmp_path: Path, run_cli: Cli) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - match: '('\n    reply: x\n")
    result = run_cli("serve", "--port", "0", "--persona", str(bad), in_subprocess=True, timeout=60)
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "bad regular expression" in lines[0], result.stderr
