"""Headless Debian Chromium driven by Playwright, for looking at pages like a person: the HTML
report, and the stand-in's playground with a fake microphone.

Playwright's own browser download is not used (``playwright install`` needs the internet): we
launch the system's ``/usr/bin/chromium`` with a fresh profile and no network features. Run as a
script to screenshot a report: ``python -m tests.support.browser INDEX_HTML OUT_PNG``.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def fake_microphone_args(wav: Path) -> list[str]:
    """WebRTC to a loopback peer, microphone access granted without a prompt, and the microphone
    replaced by ``wav`` played once (``%noloop``; silence after it). Chromium converts the file's
    rate itself but reads only 16-bit PCM or float WAV (24-bit plays as silence)."""
    return [
        "--allow-loopback-in-peer-connection",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}%noloop",
    ]


@contextmanager
def chromium_page(width: int = 1200, height: int = 900, *, args: Sequence[str] = ()) -> Iterator[Any]:
    """A Playwright page in a throw-away Chromium profile (closed on exit); ``args`` are more flags."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="rth-chromium-") as profile, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=[*ARGS, *args],
            viewport={"width": width, "height": height},
        )
        try:
            yield context.new_page()
        finally:
            context.close()


def screenshot(html: Path, out: Path, *, full_page: bool = False) -> None:
    with chromium_page() as page:
        page.goto(html.resolve().as_uri())
        page.wait_for_load_state("load")
        page.screenshot(path=str(out), full_page=full_page)


if __name__ == "__main__":
    screenshot(Path(sys.argv[1]), Path(sys.argv[2]), full_page="--full" in sys.argv)
