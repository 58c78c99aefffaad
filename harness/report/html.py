"""``index.html``: the whole run in one self-contained page (inline CSS, SVG plots, embedded audio).

Readable offline and from a CI artifact: no scripts, fonts or styles from the network. The page
opens with the verdict, then stability over repeats and the comparison of matrix variants, the
latency distributions and WER per turn, and ends with every session's turns: transcripts with a
word diff against the truth, the sent and received audio, and the waveform with protocol events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from harness.report import fmt, load_plots, plots
from harness.report.audio_embed import AudioEmbedder
from harness.report.compare import KEY_METRICS, Comparison, Group, compare, groups_from_runs, ordered_metrics
from harness.report.diff import diff_html
from harness.report.load_model import LoadReport
from harness.report.model import RunReport, ScenarioReport, TurnReport
from harness.report.run_data import RunData
from harness.report.stability import failure_kind, overall, stability
from harness.report.turn_view import envelope, input_start, markers

MAX_WER_BARS = 150
MAX_WAVEFORMS = 300


@dataclass
class TurnView:
    anchor: str
    turn: TurnReport
    kind: str | None
    diff: Markup
    output_diff: Markup
    sent_src: str | None
    received_src: str | None
    waveform: Markup | None
    latencies: list[tuple[str, str]]


@dataclass
class SessionView:
    anchor: str
    scenario: ScenarioReport
    kind: str | None
    turns: list[TurnView] = field(default_factory=list)


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("harness.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["ms"] = fmt.ms
    env.filters["usd"] = fmt.usd
    env.filters["number"] = fmt.number
    env.filters["interval"] = fmt.interval
    env.filters["delta"] = fmt.delta
    return env


def _anchor(*parts: str) -> str:
    return "-".join("".join(c if c.isalnum() else "_" for c in part) for part in parts)


def _waveform(run: RunData, scenario: ScenarioReport, turn: TurnReport) -> Markup | None:
    window = run.turn_window(scenario, turn.index)
    if window is None:
        return None
    start, end = window
    entries = run.timeline_of(scenario)
    sent = envelope(
        run.path / turn.audio_sent if turn.audio_sent else None, input_start(entries, turn.index, start)
    )
    received = envelope(run.path / turn.audio_received if turn.audio_received else None, 0.0)
    extent = max([end - start, *(e.t[-1] for e in (sent, received) if e is not None)])
    return Markup(plots.waveform(sent, received, markers(entries, start, end), extent))


def _sessions(run: RunData, embed: AudioEmbedder) -> list[SessionView]:
    views: list[SessionView] = []
    budget = MAX_WAVEFORMS
    for scenario in run.report.scenarios:
        name = scenario.instance or scenario.name
        kind = None if scenario.passed else str(scenario.failure_kind or "expectation")
        view = SessionView(_anchor("s", name), scenario, kind)
        for turn in scenario.turns:
            wave = _waveform(run, scenario, turn) if budget > 0 else None
            budget -= wave is not None
            view.turns.append(
                TurnView(
                    anchor=_anchor("t", name, f"{turn.index:02d}", turn.name),
                    turn=turn,
                    kind=failure_kind(turn),
                    diff=diff_html(turn.input_wer),
                    output_diff=diff_html(turn.output_wer),
                    sent_src=embed.src(turn.audio_sent),
                    received_src=embed.src(turn.audio_received),
                    waveform=wave,
                    latencies=[(k, fmt.ms(v)) for k, v in turn.latencies_ms.items() if v is not None],
                )
            )
        views.append(view)
    return views


def _latency_plots(groups: list[Group]) -> list[tuple[str, Markup, bool]]:
    """(metric, SVG, is a key metric) for every metric measured at least once."""
    found: list[tuple[str, Markup, bool]] = []
    for metric in ordered_metrics(groups):
        series = {group.label: group.latencies(metric).tolist() for group in groups}
        if any(series.values()):
            found.append((metric, Markup(plots.latency(metric, series)), metric in KEY_METRICS))
    return found


def _wer_plot(run: RunData) -> Markup | None:
    rows: list[tuple[str, float, float | None]] = []
    for scenario in run.report.scenarios:
        for turn in scenario.turns:
            if turn.input_wer is not None:
                bound = next((v.bound for v in turn.verdicts if v.name == "max_input_wer"), None)
                label = f"{scenario.instance or scenario.name}/{turn.name}"
                rows.append((label, float(turn.input_wer.wer), float(bound) if bound is not None else None))
    return Markup(plots.wer_bars(rows[:MAX_WER_BARS])) if rows else None


def _comparison_plot(comparison: Comparison) -> Markup | None:
    """p50 with its interval per group, for the key metrics the comparison has."""
    present = [m for m in KEY_METRICS if any(r.metric == m for r in comparison.rows)]
    return Markup(plots.comparison(comparison, present)) if present else None


def _comparison(groups: list[Group]) -> tuple[Comparison | None, Markup | None]:
    if len(groups) < 2:
        return None, None
    result = compare(groups)
    return result, _comparison_plot(result)


def _pooled_wers(report: RunReport) -> list[tuple[str, float]]:
    pooled = (
        ("input", report.pooled_input_wer),
        ("output", report.pooled_output_wer),
        ("consistency", report.pooled_consistency_wer),
    )
    return [(label, float(wer.wer)) for label, wer in pooled if wer is not None]


def _load_plot(load: LoadReport | None, draw: Callable[[LoadReport], str | None]) -> Markup | None:
    svg = draw(load) if load is not None else None
    return Markup(svg) if svg else None


def html_context(run: RunData, embed: AudioEmbedder) -> dict[str, Any]:
    report = run.report
    groups = groups_from_runs([report])
    comparison, comparison_plot = _comparison(groups)
    turns = [t for s in report.scenarios for t in s.turns]
    rows = stability(report) if report.repeat > 1 else []
    return {
        "report": report,
        "turn_count": len(turns),
        "turns_passed": sum(t.passed for t in turns),
        "sessions_passed": sum(s.passed for s in report.scenarios),
        "pooled_wers": _pooled_wers(report),
        "stability": rows,
        "stability_overall": overall(rows),
        "comparison": comparison,
        "comparison_plot": comparison_plot,
        "latency_plots": _latency_plots(groups),
        "wer_plot": _wer_plot(run),
        "load_plot": _load_plot(report.load, load_plots.load_series),
        "breakpoint_plot": _load_plot(report.load, load_plots.breakpoint_curve),
        "sessions": _sessions(run, embed),
        "audio_embedded": embed.used > 0,
    }


def render_html(run: RunData, embed: AudioEmbedder | None = None) -> str:
    embedder = embed or AudioEmbedder(run.path)
    return _environment().get_template("index.html.j2").render(**html_context(run, embedder))


def render_compare_html(comparison: Comparison, title: str) -> str:
    return (
        _environment()
        .get_template("compare.html.j2")
        .render(
            title=title,
            comparison=comparison,
            comparison_plot=_comparison_plot(comparison),
            latency_plots=_latency_plots(comparison.groups),
        )
    )


def write_html(run: RunData, path: Path) -> None:
    path.write_text(render_html(run), encoding="utf-8")
