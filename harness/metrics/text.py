"""Transcript checks that forgive form: phrases and regexes are matched on Whisper-normalised text.

``contains_phrase("It's 25 dollars, OK?", "twenty five dollars")`` is True: both sides go through
the same normaliser as WER (``$25`` either way), and a phrase matches whole words only, so ``cat``
is not found in ``concatenate``.
"""

from __future__ import annotations

import re

from harness.metrics.wer import whisper_normalise


def contains_phrase(transcript: str, phrase: str) -> bool:
    """True when the normalised phrase occurs as whole words in the normalised transcript."""
    needle = whisper_normalise(phrase)
    if not needle:
        return True
    return f" {needle} " in f" {whisper_normalise(transcript)} "


def matches_regex(transcript: str, pattern: str) -> bool:
    """``re.search`` of ``pattern`` (case-insensitive) in the normalised transcript."""
    return re.search(pattern, whisper_normalise(transcript), flags=re.IGNORECASE) is not None
