"""Plots for the HTML report, drawn with matplotlib and returned as inline SVG text.

No pyplot: each plot builds its own ``Figure``, so rendering keeps no global state and needs no
display. Text stays text (``svg.fonttype: none``) to keep files small, and each SVG gets its own
hash salt so the element ids of many inline SVGs never collide in one page.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Mapping, Sequence

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from harness.report.compare import Comparison
from harness.report.turn_view import Envelope, Marker

COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf")
CHAR_WIDTH = 0.0068  # one 6.5 pt character as a fraction of the waveform's axis width
LABEL_STEP = 0.075  # height of one row of event labels, in axis fractions
MARKER_COLOURS = {"sent": "#1f77b4", "received": "#d62728", "milestone": "#555555"}
_counter = itertools.count()
_XML_HEADER = re.compile(r"^.*?(?=<svg)", re.DOTALL)


def to_svg(fig: Figure) -> str:
    """The figure as an ``<svg>`` element (no XML declaration or DOCTYPE), ready to inline."""
    buffer = io.StringIO()
    salt = f"rth{next(_counter)}"
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": salt}):
        fig.savefig(buffer, format="svg", bbox_inches="tight")
    return _XML_HEADER.sub("", buffer.getvalue(), count=1)


def _style(ax: matplotlib.axes.Axes) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(True, alpha=0.25, linewidth=0.6)
    ax.tick_params(labelsize=8)


def _label_levels(marks: Sequence[Marker], extent: float) -> list[int]:
    """A text row per label so that labels of events close in time do not overprint each other."""
    ends: list[float] = []  # per row: where its last label ends, in seconds
    levels: list[int] = []
    for mark in marks:
        width = (len(mark.label) + 1) * CHAR_WIDTH * extent
        level = next((i for i, end in enumerate(ends) if end <= mark.t), len(ends))
        if level == len(ends):
            ends.append(0.0)
        ends[level] = mark.t + width
        levels.append(level)
    return levels


def waveform(sent: Envelope | None, received: Envelope | None, marks: Sequence[Marker], end_s: float) -> str:
    """Sent audio above, received audio below, protocol events as labelled vertical lines."""
    fig = Figure(figsize=(9.5, 3.0))
    ax = fig.add_subplot()
    for envelope, offset, colour, label in (
        (sent, 0.55, "#1f77b4", "sent"),
        (received, -0.55, "#2ca02c", "received"),
    ):
        if envelope is not None:
            ax.fill_between(
                envelope.t,
                offset + envelope.low * 0.45,
                offset + envelope.high * 0.45,
                color=colour,
                linewidth=0.3,
                rasterized=True,  # thousands of points: a bitmap inside the SVG is ~5x smaller
            )
        axis_x = ax.get_yaxis_transform()  # x in axis fractions, y in data
        ax.text(0.006, offset + 0.48, label, fontsize=7, color=colour, va="top", transform=axis_x)
    for mark, level in zip(marks, _label_levels(marks, max(end_s, 0.1)), strict=True):
        colour = MARKER_COLOURS.get(mark.kind, "#555555")
        style = "--" if mark.kind == "milestone" else "-"
        ax.axvline(mark.t, color=colour, linewidth=0.8, alpha=0.7, linestyle=style)
        ax.text(
            mark.t,
            1.02 + LABEL_STEP * level,
            mark.label,
            fontsize=6.5,
            color=colour,
            ha="left",
            va="bottom",
            transform=ax.get_xaxis_transform(),
        )
    ax.set_xlim(0, max(end_s, 0.1))
    ax.set_ylim(-1.05, 1.05)
    ax.set_yticks([])
    ax.set_xlabel("seconds from turn start", fontsize=8)
    _style(ax)
    return to_svg(fig)


def latency(metric: str, series: Mapping[str, Sequence[float]]) -> str:
    """Empirical CDF (left) and histogram (right) of one latency metric, one colour per group."""
    fig = Figure(figsize=(9.5, 2.3))
    cdf, hist = fig.subplots(1, 2)
    hist.yaxis.set_major_locator(MaxNLocator(integer=True))
    values = [v for sample in series.values() for v in sample]
    bins = np.histogram_bin_edges(values, bins=min(30, max(5, len(values) // 2))) if values else 10
    for (label, sample), colour in zip(series.items(), itertools.cycle(COLOURS), strict=False):
        data = np.sort(np.asarray(sample, dtype=np.float64))
        if data.size == 0:
            continue
        y = np.arange(1, data.size + 1) / data.size
        cdf.step(
            np.concatenate([[data[0]], data]),
            np.concatenate([[0.0], y]),
            where="post",
            color=colour,
            label=label or "all",
            linewidth=1.4,
        )
        hist.hist(data, bins=bins, color=colour, alpha=0.55, label=label or "all")
    cdf.set_ylim(0, 1.02)
    cdf.set_ylabel("fraction ≤ x", fontsize=8)
    hist.set_ylabel("count", fontsize=8)
    for ax in (cdf, hist):
        ax.set_xlabel(f"{metric} (ms)", fontsize=8)
        _style(ax)
    if len(series) > 1:
        cdf.legend(fontsize=7, frameon=False)
    return to_svg(fig)


def wer_bars(rows: Sequence[tuple[str, float, float | None]]) -> str:
    """Input WER per turn as bars, with the turn's ``max_input_wer`` bound as a tick when set."""
    fig = Figure(figsize=(9.5, max(1.4, 0.24 * len(rows) + 0.8)))
    ax = fig.add_subplot()
    y = np.arange(len(rows))
    wers = [wer for _, wer, _ in rows]
    colours = ["#d62728" if bound is not None and wer > bound else "#1f77b4" for _, wer, bound in rows]
    ax.barh(y, wers, color=colours, height=0.6)
    for index, (_, wer, bound) in enumerate(rows):
        if bound is not None:
            ax.plot([bound, bound], [index - 0.4, index + 0.4], color="#333333", linewidth=1.2)
        ax.text(wer, index, f" {wer:.2f}", va="center", fontsize=7)
    ax.set_yticks(y, [label for label, _, _ in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, max([1.0, *wers]) * 1.1)
    ax.set_xlabel("input WER (normalised); black tick = max_input_wer", fontsize=8)
    _style(ax)
    return to_svg(fig)


def comparison(result: Comparison, metrics: Sequence[str]) -> str:
    """p50 per group with its 95% interval, one panel per metric, the baseline first."""
    rows = [row for row in result.rows if row.metric in metrics and row.stat == "p50"]
    fig = Figure(figsize=(9.5, max(1.6, 0.9 + 0.32 * len(result.groups)) * max(1, len(rows)) * 0.75))
    axes = fig.subplots(max(1, len(rows)), 1, squeeze=False)[:, 0]
    labels = [group.label for group in result.groups]
    for ax, row in zip(axes, rows, strict=False):
        for index, (cell, colour) in enumerate(zip(row.cells, itertools.cycle(COLOURS), strict=False)):
            if cell.value is None:
                continue
            estimate = cell.value.estimate
            error = [[estimate - cell.value.low], [cell.value.high - estimate]]
            ax.errorbar(estimate, index, xerr=error, fmt="o", color=colour, capsize=3, markersize=4)
        ax.set_yticks(range(len(labels)), labels, fontsize=7)
        ax.invert_yaxis()
        ax.set_title(f"{row.metric} p50 (ms, 95% CI)", fontsize=8, loc="left")
        _style(ax)
    fig.tight_layout()
    return to_svg(fig)
