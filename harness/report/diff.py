"""Word-level diff of the user transcript against the truth, from the WER alignment.

The alignment (metrics.wer) is over the *normalised* words, so the diff shows exactly the errors
WER counted: a substitution as struck-out truth followed by the heard word, a deletion struck
out, an insertion underlined.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from harness.metrics.wer import WerScore, WordOp


def _ops(wer: WerScore | None) -> Sequence[WordOp]:
    return () if wer is None else wer.alignment


def diff_html(wer: WerScore | None) -> Markup:
    parts: list[str] = []
    for op in _ops(wer):
        ref, hyp, kind = escape(op.ref or ""), escape(op.hyp or ""), op.op
        if kind == "equal":
            parts.append(f'<span class="w-eq">{ref}</span>')
        elif kind == "substitute":
            parts.append(f'<del class="w-sub" title="heard: {hyp}">{ref}</del><ins class="w-sub">{hyp}</ins>')
        elif kind == "delete":
            parts.append(f'<del class="w-del" title="missed">{ref}</del>')
        elif kind == "insert":
            parts.append(f'<ins class="w-ins" title="inserted">{hyp}</ins>')
    return Markup(" ".join(parts))


def diff_markdown(wer: WerScore | None) -> str:
    """``what is the ~~weather~~ **whether** like``: GitHub renders strike-through and bold."""
    parts: list[str] = []
    for op in _ops(wer):
        ref, hyp, kind = op.ref or "", op.hyp or "", op.op
        if kind == "equal":
            parts.append(ref)
        elif kind == "substitute":
            parts.append(f"~~{ref}~~ **{hyp}**")
        elif kind == "delete":
            parts.append(f"~~{ref}~~")
        elif kind == "insert":
            parts.append(f"**{hyp}**")
    return " ".join(parts)
