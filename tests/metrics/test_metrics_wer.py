"""Known answers for the WER scorer: normaliser behaviour, counts, alignment, pooling."""

from __future__ import annotations

import json

import pytest

from harness.metrics import WerScore, WordOp, pooled_wer, raw_normalise, score_wer, whisper_normalise


@pytest.mark.parametrize(
    ("reference", "hypothesis"),
    [
        ("Hello, World!", "hello world"),
        ("I can't go, it's late.", "i can not go it is late"),
        ("I won't, I'm gonna stay", "i will not i am going to stay"),
        ("twenty five dollars", "$25"),
        ("one hundred and two", "102"),
        ("The colour of Mr. Smith's car", "the color of mister smith's car"),
        ("Um, uh, hello there", "hello there"),
    ],
)
def test_whisper_normaliser_forgives_form(reference: str, hypothesis: str) -> None:
    score = score_wer(reference, hypothesis)
    assert score.wer == 0.0
    assert score.reference == score.hypothesis


def test_whisper_normalise_exact_outputs() -> None:
    assert whisper_normalise("Hello, World!") == "hello world"
    assert whisper_normalise("I can't go, it's twenty five dollars") == "i can not go it is $25"
    assert whisper_normalise("Mr. Smith, colour") == "mister smith color"
    # Whisper does not split "cannot": it stays one word against "can not".
    assert whisper_normalise("I cannot") == "i cannot"


def test_raw_normalise_only_drops_case_and_punctuation() -> None:
    assert raw_normalise("Well-known, don't!  OK?") == "well known dont ok"
    # "%" is Unicode punctuation (Po) and goes; "$" is a currency symbol (Sc) and stays.
    assert raw_normalise("It costs $25 (100%)") == "it costs $25 100"


def test_raw_wer_counts_what_the_normaliser_forgave() -> None:
    score = score_wer("I can't go, it's late.", "i can not go it is late")
    assert score.wer == 0.0
    # raw: [i cant go its late] vs [i can not go it is late] -> 2 S + 2 I over 5 words
    assert score.raw_errors == 4
    assert score.raw_reference_words == 5
    assert score.raw_wer == pytest.approx(0.8)


def test_counts_and_alignment() -> None:
    score = score_wer("The cat sat on the mat.", "the cat sit on mat mat too")
    assert (score.substitutions, score.deletions, score.insertions, score.hits) == (2, 0, 1, 4)
    assert score.reference_words == 6
    assert score.errors == 3
    assert score.wer == 0.5
    assert score.alignment == (
        WordOp("equal", "the", "the"),
        WordOp("equal", "cat", "cat"),
        WordOp("substitute", "sat", "sit"),
        WordOp("equal", "on", "on"),
        WordOp("substitute", "the", "mat"),
        WordOp("equal", "mat", "mat"),
        WordOp("insert", None, "too"),
    )


def test_deletion_alignment() -> None:
    score = score_wer("The big red dog", "the dog")
    assert score.reference == "the big red dog"
    assert (score.deletions, score.hits, score.reference_words) == (2, 2, 4)
    assert score.wer == 0.5
    assert score.alignment == (
        WordOp("equal", "the", "the"),
        WordOp("delete", "big", None),
        WordOp("delete", "red", None),
        WordOp("equal", "dog", "dog"),
    )


def test_spoken_digit_sequences_become_one_number() -> None:
    # Whisper reads successive single digits as one nominal number ("one oh one" -> 101).
    assert whisper_normalise("one two three four") == "1234"
    assert score_wer("one two three four", "1234").wer == 0.0


def test_empty_reference() -> None:
    assert score_wer("", "").wer == 0.0
    both_empty_after_normalising = score_wer("Um.", "uh")
    assert both_empty_after_normalising.wer == 0.0
    invented = score_wer("", "hello there")
    assert invented.reference_words == 0
    assert invented.insertions == 2
    assert invented.wer == 2.0  # errors / max(words, 1)
    missed = score_wer("hello", "")
    assert (missed.deletions, missed.wer) == (1, 1.0)


def test_to_dict_is_json_serialisable() -> None:
    record = json.loads(json.dumps(score_wer("a cat", "the cat").to_dict()))
    assert record["wer"] == 0.5
    assert record["alignment"] == [
        {"op": "substitute", "ref": "a", "hyp": "the"},
        {"op": "equal", "ref": "cat", "hyp": "cat"},
    ]


def test_pooled_wer_is_errors_over_words_not_mean_of_ratios() -> None:
    short = score_wer("yes", "no")  # 1 error / 1 word
    long = score_wer(
        "the quick brown fox jumps over the lazy dog", "the quick brown fox jumps over the lazy dog"
    )  # 0 / 9
    pooled = pooled_wer([short, long])
    assert (short.wer + long.wer) / 2 == 0.5
    assert pooled.wer == pytest.approx(0.1)
    assert pooled.raw_wer == pytest.approx(0.1)
    assert (pooled.substitutions, pooled.hits, pooled.reference_words, pooled.utterances) == (1, 9, 10, 2)
    assert json.loads(json.dumps(pooled.to_dict()))["utterances"] == 2


def test_pooled_wer_of_nothing() -> None:
    pooled = pooled_wer([])
    assert (pooled.wer, pooled.reference_words, pooled.utterances) == (0.0, 0, 0)


def test_score_round_trips_through_its_dict() -> None:
    score = score_wer("the cat sat on the mat", "the cat sat on a hat")
    assert WerScore.from_dict(score.to_dict()) == score
