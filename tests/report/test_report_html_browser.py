"""index.html opened in headless Chromium: every plot renders, audio decodes, no console errors.

Uses Debian's chromium (installed by scripts/install-system-deps.sh) through Playwright; the page
is loaded from a file:// URL, so nothing leaves the machine.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from harness.report.render import render_run

if TYPE_CHECKING:
    from tests.support.reports import ReportFactory

VARIANTS = [{"model": "gpt-realtime", "voice": "cedar"}, {"model": "gpt-realtime-mini", "voice": "cedar"}]
REPEATS = 2
TURNS = 2
LATENCY_METRICS = 5  # first_audio, response_done, voice_to_voice, commit_to_transcript, connect_total


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory, reports: ReportFactory) -> Path:
    spec = {"variants": VARIANTS, "repeats": REPEATS, "failing": {(1, 0, 0)}}
    run_dir = reports.write_run(tmp_path_factory.mktemp("html"), **spec)
    return render_run(run_dir).html


@pytest.fixture(scope="module")
def page_state(
    chromium_page: Callable[..., AbstractContextManager[Any]],
    rendered: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Any]:
    """Load the page once (skipped without chromium); collect console errors, DOM facts and a
    full-page screenshot."""
    shot = tmp_path_factory.mktemp("shots") / "index.png"
    problems: list[str] = []
    with chromium_page() as page:
        page.on(
            "console",
            lambda msg: problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None,
        )
        page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
        page.on("requestfailed", lambda req: problems.append(f"request failed: {req.url[:80]}"))
        page.goto(rendered.as_uri())
        page.wait_for_load_state("load")
        page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        page.wait_for_function(
            "[...document.querySelectorAll('audio')].every(a => a.readyState >= 1)", timeout=30_000
        )
        state: dict[str, Any] = page.evaluate(
            """() => ({
              plots: [...document.querySelectorAll('figure.plot')].map(f => {
                const svg = f.querySelector('svg');
                const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
                return {name: f.dataset.plot, width: box.width, height: box.height,
                        shapes: svg ? svg.querySelectorAll('path, image').length : 0};
              }),
              audio: [...document.querySelectorAll('audio')].map(a => a.duration),
              verdict: document.querySelector('[data-verdict]').dataset.verdict,
              flaky: document.querySelectorAll('[data-table=stability] .badge.flaky').length,
              compareRows: document.querySelectorAll('[data-table=compare] tr').length,
              failedTurns: document.querySelectorAll('article.turn[data-passed=false]').length,
              external: document.querySelectorAll(
                'script[src], link[href], [src^="http"], [href^="http"], [src^="//"]').length,
              diff: [...document.querySelectorAll('dd.diff')].map(d => d.innerHTML),
            })"""
        )
        page.screenshot(path=str(shot), full_page=True)
    state["problems"] = problems
    state["screenshot"] = shot
    return state


def test_page_loads_without_console_errors_or_network(page_state: dict[str, Any]) -> None:
    assert page_state["problems"] == []
    assert page_state["external"] == 0


def test_every_plot_renders(page_state: dict[str, Any]) -> None:
    plots = page_state["plots"]
    names = [plot["name"] for plot in plots]
    waveforms = [name for name in names if name.startswith("waveform:")]
    assert len(waveforms) == len(VARIANTS) * REPEATS * TURNS
    assert len([n for n in names if n.startswith("latency:")]) == LATENCY_METRICS
    assert "wer" in names and "compare" in names
    assert len(plots) == len(waveforms) + LATENCY_METRICS + 2
    for plot in plots:
        assert plot["width"] > 300 and plot["height"] > 80, plot
        assert plot["shapes"] > 3, plot


def test_audio_players_decode_the_embedded_audio(page_state: dict[str, Any]) -> None:
    durations = page_state["audio"]
    assert len(durations) == 2 * len(VARIANTS) * REPEATS * TURNS  # sent + received per turn
    assert sorted(set(np.round(durations, 1))) == [1.5, 4.0]


def test_verdict_stability_comparison_and_diff_are_shown(page_state: dict[str, Any]) -> None:
    assert page_state["verdict"] == "failed"
    assert page_state["failedTurns"] == 1
    assert page_state["flaky"] == 2  # the flaky variant's scenario row and its failing turn
    assert page_state["compareRows"] > 10
    assert any('<del class="w-sub"' in d and ">11</ins>" in d for d in page_state["diff"])


def test_screenshot_shows_a_page(page_state: dict[str, Any]) -> None:
    from PIL import Image

    image = Image.open(page_state["screenshot"]).convert("L")
    assert image.width == 1200 and image.height > 3000
    pixels = np.asarray(image, dtype=np.float64)
    assert pixels.std() > 10  # not a blank page
    assert (pixels < 100).mean() > 0.005  # text and plots drawn in dark ink
