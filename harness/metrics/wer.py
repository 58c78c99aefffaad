"""Word error rate of a transcript against its reference, per utterance and pooled over a corpus.

Two figures per utterance, both aligned with jiwer:

* ``wer`` — after Whisper's English text normaliser on both sides (the figure to gate on: it forgives
  case, punctuation, spelling variants, contractions, number formats and filler words, which a speech
  model is free to choose);
* ``raw_wer`` — after :func:`raw_normalise` only (lowercase, punctuation stripped), to show what the
  normaliser forgave.

A reference with no words (after normalisation) scores ``errors / 1``: 0.0 when the hypothesis is empty
too, else the number of inserted words. That is jiwer 4's convention; it keeps every figure finite and
JSON-serialisable and still fails any sane threshold when words were invented.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any, Literal

import jiwer

OpKind = Literal["equal", "substitute", "delete", "insert"]

_OP_KINDS: dict[str, OpKind] = {
    "equal": "equal",
    "substitute": "substitute",
    "delete": "delete",
    "insert": "insert",
}
_APOSTROPHES = re.compile(r"['\u2019\u02bc]")
_SPACES = re.compile(r"\s+")


@cache
def _whisper_normaliser() -> Any:
    # whisper_normalizer ships no type information; built once because it parses a spelling table.
    from whisper_normalizer.english import (  # type: ignore[import-untyped, unused-ignore]
        EnglishTextNormalizer,
    )

    return EnglishTextNormalizer()


def whisper_normalise(text: str) -> str:
    """Whisper's English text normaliser (package ``whisper_normalizer``, a copy of openai-whisper's).

    Lowercases, drops bracketed/filler words (``uh``, ``um``, ``hmm``), expands contractions
    (``can't`` -> ``can not``), standardises British spellings and titles (``Mr.`` -> ``mister``) and
    spelled-out numbers (``twenty five dollars`` -> ``$25``), and strips remaining punctuation.
    """
    result: str = _whisper_normaliser()(text)
    return _SPACES.sub(" ", result).strip()


def raw_normalise(text: str) -> str:
    """Minimal normalisation for the raw WER: lowercase, delete apostrophes (``don't`` -> ``dont``),
    turn every other Unicode punctuation character (category ``P*``) into a space, collapse spaces.

    Unicode punctuation includes ``% # & @ *``; symbols such as ``$`` (category ``Sc``) and digits are
    kept. Nothing is rewritten: only case and punctuation go.
    """
    lowered = _APOSTROPHES.sub("", text.lower())
    spaced = "".join(" " if unicodedata.category(ch).startswith("P") else ch for ch in lowered)
    return _SPACES.sub(" ", spaced).strip()


@dataclass(frozen=True, slots=True)
class WordOp:
    """One step of the word alignment: ``ref`` is None for an insertion, ``hyp`` for a deletion."""

    op: OpKind
    ref: str | None
    hyp: str | None


@dataclass(frozen=True, slots=True)
class _WerCounts:
    """The figures an utterance's score and a corpus's pooled score share (in report key order)."""

    wer: float
    raw_wer: float
    substitutions: int
    deletions: int
    insertions: int
    hits: int
    reference_words: int

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions


@dataclass(frozen=True, slots=True)
class WerScore(_WerCounts):
    """WER of one utterance; counts and alignment are those of the normalised texts."""

    reference: str  # normalised
    hypothesis: str  # normalised
    alignment: tuple[WordOp, ...]
    raw_errors: int  # S + D + I of the raw alignment, kept so raw WER can be pooled
    raw_reference_words: int

    def to_dict(self) -> dict[str, Any]:
        record = asdict(self)
        record["alignment"] = [asdict(op) for op in self.alignment]
        return record

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> WerScore:
        """Inverse of :meth:`to_dict` (ignores derived keys), so reports can be pooled again."""
        fields = {name: record[name] for name in cls.__dataclass_fields__ if name != "alignment"}
        alignment = tuple(WordOp(**op) for op in record.get("alignment", ()))
        return cls(**fields, alignment=alignment)


@dataclass(frozen=True, slots=True)
class PooledWer(_WerCounts):
    """Corpus WER: total errors over total reference words (longer utterances weigh more)."""

    utterances: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ratio(errors: int, reference_words: int) -> float:
    """Errors per reference word; an empty reference divides by 1 (see the module docstring)."""
    return errors / max(reference_words, 1)


def _align(reference: str, hypothesis: str) -> jiwer.WordOutput:
    return jiwer.process_words(reference, hypothesis)


def _ops(output: jiwer.WordOutput) -> tuple[WordOp, ...]:
    ref_words: list[str] = output.references[0]
    hyp_words: list[str] = output.hypotheses[0]
    ops: list[WordOp] = []
    for chunk in output.alignments[0]:
        kind = _OP_KINDS[chunk.type]
        refs = ref_words[chunk.ref_start_idx : chunk.ref_end_idx]
        hyps = hyp_words[chunk.hyp_start_idx : chunk.hyp_end_idx]
        if kind == "insert":
            ops.extend(WordOp("insert", None, word) for word in hyps)
        elif kind == "delete":
            ops.extend(WordOp("delete", word, None) for word in refs)
        else:  # equal / substitute chunks pair words one to one
            ops.extend(WordOp(kind, ref, hyp) for ref, hyp in zip(refs, hyps, strict=True))
    return tuple(ops)


def score_wer(reference: str, hypothesis: str) -> WerScore:
    """Score one transcript (``hypothesis``) against what was said (``reference``)."""
    ref_norm, hyp_norm = whisper_normalise(reference), whisper_normalise(hypothesis)
    norm = _align(ref_norm, hyp_norm)
    raw = _align(raw_normalise(reference), raw_normalise(hypothesis))
    reference_words = norm.hits + norm.substitutions + norm.deletions
    raw_reference_words = raw.hits + raw.substitutions + raw.deletions
    raw_errors = raw.substitutions + raw.deletions + raw.insertions
    return WerScore(
        wer=_ratio(norm.substitutions + norm.deletions + norm.insertions, reference_words),
        raw_wer=_ratio(raw_errors, raw_reference_words),
        substitutions=norm.substitutions,
        deletions=norm.deletions,
        insertions=norm.insertions,
        hits=norm.hits,
        reference_words=reference_words,
        reference=ref_norm,
        hypothesis=hyp_norm,
        alignment=_ops(norm),
        raw_errors=raw_errors,
        raw_reference_words=raw_reference_words,
    )


def pooled_wer(scores: Iterable[WerScore]) -> PooledWer:
    """Corpus WER = sum of errors / sum of reference words — not the mean of per-utterance WERs,
    which would let a one-word utterance weigh as much as a fifty-word one."""
    items = list(scores)
    substitutions = sum(s.substitutions for s in items)
    deletions = sum(s.deletions for s in items)
    insertions = sum(s.insertions for s in items)
    reference_words = sum(s.reference_words for s in items)
    return PooledWer(
        wer=_ratio(substitutions + deletions + insertions, reference_words),
        raw_wer=_ratio(sum(s.raw_errors for s in items), sum(s.raw_reference_words for s in items)),
        substitutions=substitutions,
        deletions=deletions,
        insertions=insertions,
        hits=sum(s.hits for s in items),
        reference_words=reference_words,
        utterances=len(items),
    )
