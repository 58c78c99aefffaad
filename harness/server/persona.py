"""Personas: ordered regex rules that pick the stand-in's reply, so suites can expect exact text.

A persona file (YAML)::

    name: bookings
    rules:                                # first match wins; re.search, case-insensitive
      - match: 'table for (?P<people>\\w+)'
        reply: 'Booked a table for {people}.'
      - match: weather
        reply: It is sunny.
    fallback: 'You said: {transcript}.'  # when no rule matches (this is the default)
    no_speech: Sorry, I did not hear anything.   # when the user's turn had no words

In replies, ``{transcript}`` is what the user said (as recognised, without a final period),
``{0}`` the whole match, ``{1}``... numbered groups, ``{name}`` named groups. Nothing else is
interpreted (no attribute access, unlike ``str.format``), and an unknown placeholder is an error at
load time, so a typo fails ``rth serve`` instead of a test.

Instructions can script a reply too (apps greet with ``response.create`` + instructions): when a
response's ``instructions`` say ``Say "..."`` (or ``Say exactly: ...``), that text is the reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.errors import UsageError

DEFAULT_FALLBACK = "You said: {transcript}."
DEFAULT_NO_SPEECH = "Sorry, I did not hear anything."
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_SAY_QUOTED = re.compile(r"\bsay\b[^\"“”]*?[\"“]([^\"“”]+)[\"”]", re.IGNORECASE)
_SAY_COLON = re.compile(r"^\s*say(?:\s+exactly)?\s*:\s*(.+?)\s*$", re.IGNORECASE | re.DOTALL)


class PersonaError(UsageError):
    """A persona file that cannot be used (message names the file and the rule)."""


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern[str]
    reply: str


@dataclass(frozen=True)
class Persona:
    """Reply rules; :meth:`reply` maps a user transcript to the assistant's text."""

    name: str = "echo"
    rules: tuple[Rule, ...] = ()
    fallback: str = DEFAULT_FALLBACK
    no_speech: str = DEFAULT_NO_SPEECH
    source: Path | None = field(default=None, compare=False)

    def reply(self, transcript: str) -> str:
        heard = transcript.strip().rstrip(".").strip()
        if not heard:
            return self.no_speech
        for rule in self.rules:
            found = rule.pattern.search(heard)
            if found is not None:
                values = {str(i): g or "" for i, g in enumerate((found.group(0), *found.groups()))}
                values.update({k: v or "" for k, v in found.groupdict().items()})
                return _fill(rule.reply, {**values, "transcript": heard})
        return _fill(self.fallback, {"transcript": heard})

    @property
    def needs_transcript(self) -> bool:
        """Whether the words heard can change the reply: rules to match, or a fallback quoting
        them. Load mode skips recognition for personas that do not need it."""
        return bool(self.rules) or "{transcript}" in self.fallback

    def reply_unheard(self, speech: bool) -> str:
        """The reply to a turn nobody recognised (only right when not :attr:`needs_transcript`):
        what :meth:`reply` gives for any words when the turn held speech, else ``no_speech``."""
        return self.fallback if speech else self.no_speech


def instructed_reply(instructions: str | None) -> str | None:
    """The reply a response's instructions script (``Say "Hello!"``), or None."""
    if not instructions:
        return None
    found = _SAY_QUOTED.search(instructions) or _SAY_COLON.search(instructions)
    return found.group(1).strip() if found is not None else None


def default_persona(no_speech: str = DEFAULT_NO_SPEECH) -> Persona:
    """The echo persona: ``You said: <transcript>.``"""
    return Persona(no_speech=no_speech)


def _fill(template: str, values: dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def load_persona(path: Path | str) -> Persona:
    """Read and check a persona YAML file; raises :class:`PersonaError` with the file and rule."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PersonaError(f"{path}: cannot read persona file: {exc.strerror}") from None
    return parse_persona_text(text, source=path)


def parse_persona_text(text: str, *, source: Path | None = None) -> Persona:
    """A persona from a file's text (also what a call's ``X-Rth-Persona`` header carries)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:  # its text spans lines: keep the problem and where it is
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise PersonaError(f"{source or 'persona'}: not valid YAML{at}: {problem}; fix the syntax") from None
    return parse_persona(data, source=source)


def parse_persona(data: Any, *, source: Path | None = None) -> Persona:
    """A persona from already-parsed YAML/JSON data (e.g. inlined in a scenario)."""
    where = str(source) if source is not None else "persona"
    if not isinstance(data, dict):
        raise PersonaError(f"{where}: expected a mapping with 'rules'")
    unknown = set(data) - {"name", "rules", "fallback", "no_speech", "description"}
    if unknown:
        raise PersonaError(f"{where}: unknown key(s): {', '.join(sorted(unknown))}")
    raw_rules = data.get("rules") or []
    if not isinstance(raw_rules, list):
        raise PersonaError(f"{where}: 'rules' must be a list")
    rules = tuple(_rule(raw, f"{where}: rules[{i}]") for i, raw in enumerate(raw_rules))
    fallback = _text(data.get("fallback", DEFAULT_FALLBACK), f"{where}: fallback")
    _check_placeholders(fallback, {"transcript"}, f"{where}: fallback")
    no_speech = _text(data.get("no_speech", DEFAULT_NO_SPEECH), f"{where}: no_speech")
    _check_placeholders(no_speech, set(), f"{where}: no_speech")
    name = str(data.get("name") or (source.stem if source is not None else "persona"))
    return Persona(name=name, rules=rules, fallback=fallback, no_speech=no_speech, source=source)


def _rule(raw: Any, where: str) -> Rule:
    if not isinstance(raw, dict) or set(raw) != {"match", "reply"}:
        raise PersonaError(f"{where}: a rule is a mapping with exactly 'match' and 'reply'")
    try:
        pattern = re.compile(_text(raw["match"], f"{where}.match"), re.IGNORECASE)
    except re.error as exc:
        raise PersonaError(f"{where}.match: bad regular expression: {exc}") from None
    reply = _text(raw["reply"], f"{where}.reply")
    allowed = {"transcript", *map(str, range(pattern.groups + 1)), *pattern.groupindex}
    _check_placeholders(reply, allowed, f"{where}.reply")
    return Rule(pattern, reply)


def _text(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float) or not str(value).strip():
        raise PersonaError(f"{where}: expected non-empty text")
    return str(value)


def _check_placeholders(template: str, allowed: set[str], where: str) -> None:
    unknown = sorted(set(_PLACEHOLDER.findall(template)) - allowed)
    if unknown:
        names = ", ".join("{" + name + "}" for name in unknown)
        raise PersonaError(f"{where}: unknown placeholder(s) {names}")
