"""The browser playground: ``GET /`` and its static files, served by the stand-in's HTTP app.

A page that talks to the stand-in the way the OpenAI docs' browser example talks to the live API
(ephemeral key, SDP offer to ``/v1/realtime/calls``, events on the data channel), so people can
hear the stand-in and app developers can see the flow their own page must follow. The files live
in ``harness/server/static`` (package data: no build step, nothing fetched from elsewhere).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from aiohttp import web

STATIC_DIR = Path(str(resources.files("harness.server") / "static"))
STATIC_PREFIX = "/playground"
# Same-origin only: the page fetches nothing from elsewhere, and a browser refuses it if it tries.
_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": "default-src 'self'; style-src 'self'; script-src 'self'",
    "X-Content-Type-Options": "nosniff",
}


def page_url(base_url: str) -> str:
    """The playground's address for a stand-in whose API base URL is ``base_url`` (``.../v1``)."""
    return base_url.removesuffix("/v1") + "/"


def announce(base_url: str) -> None:
    """``rth serve``'s second line, after the API base URL that scripts read from the first."""
    print(f"rth playground: {page_url(base_url)} (open it in a browser on this machine)", flush=True)


def add_routes(app: web.Application) -> None:
    """``/`` (the page) and ``/playground/*`` (its script and style sheet)."""
    app.router.add_get("/", _index)
    app.router.add_static(STATIC_PREFIX, STATIC_DIR, append_version=False)
    app.on_response_prepare.append(_static_headers)


async def _index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "index.html")


async def _static_headers(request: web.Request, response: web.StreamResponse) -> None:
    if request.path == "/" or request.path.startswith(STATIC_PREFIX + "/"):
        response.headers.update(_HEADERS)
