"""Write the rendered files: a run's junit.xml, summary.md and index.html; compare.md/.html.

Used at the end of ``rth run`` and by ``rth report DIR`` / ``rth compare``, so all of them always
produce the same files from the same report.json.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.report.compare import Comparison
from harness.report.html import render_compare_html, write_html
from harness.report.junit import write_junit
from harness.report.markdown import compare_markdown, summary_markdown
from harness.report.model import RunReport
from harness.report.run_data import RunData, load_run


@dataclass(frozen=True, slots=True)
class Rendered:
    junit: Path
    summary: Path
    html: Path


def render_data(run: RunData) -> Rendered:
    out = Rendered(run.path / "junit.xml", run.path / "summary.md", run.path / "index.html")
    write_junit(run, out.junit)
    out.summary.write_text(summary_markdown(run), encoding="utf-8")
    write_html(run, out.html)
    return out


def render_run(path: Path, report: RunReport | None = None) -> Rendered:
    """Render ``path`` (its report.json, or ``report`` when given, plus its timeline.jsonl)."""
    return render_data(load_run(path, report))


@dataclass(frozen=True, slots=True)
class ComparisonFiles:
    markdown: Path
    html: Path


def default_compare_dir(runs: list[RunData]) -> Path:
    """One run: its own directory; several: ``compare-<first>-vs-<last>`` beside the first run."""
    if len(runs) == 1:
        return runs[0].path
    return runs[0].path.parent / f"compare-{runs[0].report.run_id}-vs-{runs[-1].report.run_id}"


def write_comparison(comparison: Comparison, runs: list[RunData], out: Path) -> ComparisonFiles:
    """``compare.md`` and ``compare.html`` for the runs compared, in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    title = "rth compare " + " vs ".join(run.report.run_id for run in runs)
    files = ComparisonFiles(out / "compare.md", out / "compare.html")
    files.markdown.write_text("\n".join([f"## {title}", *compare_markdown(comparison), ""]), encoding="utf-8")
    files.html.write_text(render_compare_html(comparison, title), encoding="utf-8")
    return files
