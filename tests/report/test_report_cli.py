"""`rth report` re-renders a run from report.json; `rth run` rejects bad --matrix/--prices early."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.support.cli import Cli
    from tests.support.reports import ReportFactory


def test_rth_report_renders_junit_summary_and_html(
    tmp_path: Path, run_cli: Cli, reports: ReportFactory
) -> None:
    run_dir = reports.write_run(tmp_path)
    result = run_cli("report", str(run_dir))
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1] == f"html: {run_dir.resolve() / 'index.html'}"
    for name in ("junit.xml", "summary.md", "index.html"):
        assert (run_dir / name).stat().st_size > 0
    assert "rth run <code>20250101-000000-aaaa</code>" in (run_dir / "index.html").read_text()


def test_rth_report_reprices_with_a_users_table(tmp_path: Path, run_cli: Cli, reports: ReportFactory) -> None:
    run_dir = reports.write_run(tmp_path)
    prices = tmp_path / "prices.toml"
    prices.write_text(
        'as_of = "2031-02-03"\n[models."gpt-realtime"]\n'
        "text_input = 0\ntext_cached_input = 0\ntext_output = 0\n"
        "audio_input = 0\naudio_cached_input = 0\naudio_output = 1000000\n"
    )
    result = run_cli("report", str(run_dir), "--prices", str(prices))
    assert result.exit_code == 0, result.output
    summary = (run_dir / "summary.md").read_text()
    assert "≈ **$400.00** (prices as of 2031-02-03)" in summary  # 2 turns x 200 audio-out tokens x $1


def test_rth_report_of_a_folder_without_report_is_a_usage_error(tmp_path: Path, run_cli: Cli) -> None:
    result = run_cli("report", str(tmp_path))
    assert result.exit_code == 2
    assert "not a run directory" in result.output


def test_rth_run_rejects_a_bad_matrix_before_connecting(
    tmp_path: Path, repo_root: Path, run_cli: Cli
) -> None:
    smoke = str(repo_root / "scenarios/smoke.yaml")
    result = run_cli("run", smoke, "--out", str(tmp_path), "--matrix", "speed=1,3")
    assert result.exit_code == 2
    assert "--matrix speed=3: Input should be less than or equal to 2" in result.output
    assert not any(tmp_path.iterdir())


def test_rth_run_rejects_a_bad_price_table_before_connecting(
    tmp_path: Path, repo_root: Path, run_cli: Cli
) -> None:
    bad = tmp_path / "p.toml"
    bad.write_text("nonsense = [")
    out = tmp_path / "reports"
    result = run_cli("run", str(repo_root / "scenarios/smoke.yaml"), "--out", str(out), "--prices", str(bad))
    assert result.exit_code == 2
    assert "invalid TOML" in result.output
    assert not out.exists()
