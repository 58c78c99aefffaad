"""Phrase and regex checks on normalised transcripts."""

from __future__ import annotations

import pytest

from harness.metrics import contains_phrase, matches_regex


@pytest.mark.parametrize(
    ("transcript", "phrase", "found"),
    [
        ("It's twenty-five dollars, OK?", "$25", True),
        ("It costs 25 dollars.", "twenty five dollars", True),
        ("What is the weather like in Paris today?", "PARIS", True),
        ("What is the weather like in Paris today?", "weather like", True),
        ("I can't come", "can not", True),
        ("concatenate them", "cat", False),
        ("the colour grey", "color gray", True),
        ("hello", "", True),
        ("", "hello", False),
    ],
)
def test_contains_phrase_on_whole_normalised_words(transcript: str, phrase: str, found: bool) -> None:
    assert contains_phrase(transcript, phrase) is found


def test_regex_runs_on_the_normalised_transcript() -> None:
    assert matches_regex("You said: Hello, World!", r"^you said hello world$")
    assert matches_regex("Book it for 7 PM.", r"\b7 pm\b")
    assert not matches_regex("You said hello", r"^hello")
