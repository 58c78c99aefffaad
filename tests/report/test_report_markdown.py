"""summary.md: verdict first, failures with the word diff, stability and comparison when relevant."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from harness.report.markdown import MAX_TURN_ROWS, summary_markdown
from harness.report.run_data import load_run

if TYPE_CHECKING:
    from tests.support.reports import ReportFactory


def test_plain_run_summary(tmp_path: Path, reports: ReportFactory) -> None:
    text = summary_markdown(load_run(reports.write_run(tmp_path)))
    assert text.startswith("## ✅ rth run `20250101-000000-aaaa`: PASSED")
    assert "**1/1** sessions and **2/2** turns passed" in text
    assert "Tokens: **741**" in text and "prices as of" in text
    assert "| smoke/booking | ✅ | 0.11 | 801 | 1,201 | 1,101 | 371 |" in text
    assert "Stability" not in text and "Comparison" not in text


def test_failures_show_what_failed_and_the_word_diff(tmp_path: Path, reports: ReportFactory) -> None:
    text = summary_markdown(load_run(reports.write_run(tmp_path, failing={(0, 0, 1)})))
    assert text.startswith("## ❌")
    assert "- **smoke/booking** (expectation): `max_first_audio_ms` 801.0 vs 700.0" in text
    assert "heard: please book a table for 2 at ~~7~~ **11** tonight" in text


def test_repeats_and_matrix_add_stability_and_comparison(tmp_path: Path, reports: ReportFactory) -> None:
    spec = {"variants": [{"voice": "cedar"}, {"voice": "marin"}], "repeats": 3, "failing": {(1, 2, 0)}}
    text = summary_markdown(load_run(reports.write_run(tmp_path, **spec)))
    assert "### Stability over repeats" in text
    assert "| voice=marin | ↳ weather | 2/3 | 67% | 100% | 0% | ⚠️ flaky | expectation x1 |" in text
    assert "| voice=marin | **mean of 1 scenario(s)** |  | 67% | 100% | 0% |  |  |" in text
    assert "### Comparison" in text and "voice=cedar (baseline)" in text


def test_summary_stays_small_for_huge_runs(tmp_path: Path, reports: ReportFactory) -> None:
    spec = {"repeats": MAX_TURN_ROWS, "audio": False}  # 2 turns per repeat: twice the cap
    text = summary_markdown(load_run(reports.write_run(tmp_path, **spec)))
    assert f"and {MAX_TURN_ROWS} more turns" in text
    assert len(text.encode()) < 1024 * 1024  # GitHub's step summary limit
