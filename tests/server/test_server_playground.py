"""The playground page the stand-in serves at ``/``: its files, their headers, nothing from elsewhere,
and the wheel carrying them. What the page does in a browser: test_server_playground_browser.py."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from pathlib import Path

import aiohttp

from harness.server import StandInServer
from harness.server.playground import STATIC_DIR
from harness.server.session import VOICES


def origin(server: StandInServer) -> str:
    return server.base_url.removesuffix("/v1")


async def test_the_page_and_every_file_it_names_are_served_same_origin_only(server: StandInServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(origin(server) + "/") as page:
            assert page.status == 200 and page.content_type == "text/html"
            html = await page.text()
            assert "default-src 'self'" in page.headers["Content-Security-Policy"]
        for element in (
            'id="start"',
            'id="stop"',
            'id="user-transcript"',
            'id="assistant-transcript"',
            'id="event-log"',
            'id="error"',
            'id="api-key"',
        ):
            assert element in html, element
        assets = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert sorted(assets) == [
            "/playground/favicon.svg",
            "/playground/playground.css",
            "/playground/playground.js",
        ]
        types = {".js": "application/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
        for asset in assets:
            async with http.get(origin(server) + asset) as reply:
                assert reply.status == 200, asset
                assert reply.content_type == types[Path(asset).suffix], asset
                assert reply.headers["Cache-Control"] == "no-cache"
                text = await reply.text()
            assert not re.search(r"https?://|//[a-z]", text.replace("http://www.w3.org/2000/svg", "")), asset
        async with http.get(origin(server) + "/playground/../keys.py") as outside:
            assert outside.status == 404


def test_the_key_field_works_unchanged_against_a_stand_in_that_takes_any_key() -> None:
    html = (STATIC_DIR / "index.html").read_text()
    field = re.search(r'<input id="api-key"[^>]*>', html)
    assert field is not None
    default = re.search(r'value="([^"]*)"', field.group(0))
    assert default is not None and default.group(1).strip() and not default.group(1).startswith("ek_")


def test_the_voice_menu_offers_exactly_the_voices_the_stand_in_accepts() -> None:
    html = (STATIC_DIR / "index.html").read_text()
    menu = re.search(r'<select id="voice".*?</select>', html, flags=re.DOTALL)
    assert menu is not None
    assert tuple(re.findall(r"<option[^>]*>(\w+)</option>", menu.group(0))) == VOICES
    assert re.search(r"<option selected>(\w+)</option>", menu.group(0)).group(1) == "cedar"  # type: ignore[union-attr]


def test_the_wheel_carries_every_static_file(repo_root: Path) -> None:
    """pyproject's package-data globs (relative to harness/) match each file the page needs."""
    pyproject = tomllib.loads((repo_root / "pyproject.toml").read_text())
    globs = pyproject["tool"]["setuptools"]["package-data"]["harness"]
    files = [path.relative_to(repo_root / "harness").as_posix() for path in STATIC_DIR.iterdir()]
    assert {"server/static/index.html", "server/static/playground.js"} <= set(files)
    for name in files:
        assert any(fnmatch.fnmatch(name, glob) for glob in globs), f"{name} is not package data"
