"""Word-level diff of the user transcript against the truth, from the WER alignment.

The alignment (metrics.wer) is over the *normalised* words, so the diff shows exactly the errors
WER counted: a substitution as struck-out truth followed by the heard word, a deletion struck
out, an insertion underlined.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markupsafe import Markup, escape


def _ops(wer: dict[str, Any] | None) -> Sequence[dict[str, Any]]:
    return [] if wer is None else list(wer.get("alignment") or [])


def diff_html(wer: dict[str, Any] | None) -> Markup:
    parts: list[str] = []
    for op in _ops(wer):
        ref, hyp = escape(op.get("ref") or ""), escape(op.get("hyp") or "")
        kind = op.get("op")
        if kind == "equal":
            parts.append(f'<span class="w-eq">{ref}</span>')
        elif kind == "substitute":
            parts.append(f'<del class="w-sub" title="heard: {hyp}">{ref}</del><ins class="w-sub">{hyp}</ins>')
        elif kind == "delete":
            parts.append(f'<del class="w-del" title="missed">{ref}</del>')
        elif kind == "insert":
            parts.append(f'<ins class="w-ins" title="inserted">{hyp}</ins>')
    return Markup(" ".join(parts))


def diff_markdown(wer: dict[str, Any] | None) -> str:
    """``what is the ~~weather~~ **whether** like``: GitHub renders strike-through and bold."""
    parts: list[str] = []
    for op in _ops(wer):
        ref, hyp, kind = op.get("ref") or "", op.get("hyp") or "", op.get("op")
        if kind == "equal":
            parts.append(ref)
        elif kind == "substitute":
            parts.append(f"~~{ref}~~ **{hyp}**")
        elif kind == "delete":
            parts.append(f"~~{ref}~~")
        elif kind == "insert":
            parts.append(f"**{hyp}**")
    return " ".join(parts)
