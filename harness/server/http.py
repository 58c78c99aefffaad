"""HTTP endpoints of the stand-in (aiohttp): calls, client secrets, hangup, CORS, the error shape.

Every non-2xx answer is ``{"error": {"message", "type", "param", "code"}}`` with all four keys.
Browser pages post cross-origin with an ephemeral key, so preflights under ``/v1/realtime/`` are
answered and ``Location`` is exposed. Keys never reach logs or messages. A call may bring its own
persona in the ``X-Rth-Persona`` header and its own faults in ``X-Rth-Faults``
(:mod:`harness.protocol.standin`), the stand-in's extensions of the API; injected faults are
:mod:`harness.server.faults`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import hdrs, web
from aiohttp.http_exceptions import HttpProcessingError

from harness.ice import is_loopback_host, set_loopback_only
from harness.protocol.standin import MAX_HEADER_CHARS, PERSONA_HEADER, WORKER_HEADER, decode_persona
from harness.server import playground, session, wire
from harness.server.call import INVALID_OFFER, Call, Engines
from harness.server.cluster import FORWARDED_HEADER, Siblings
from harness.server.errors import MAX_PARAM_CHARS, ApiError, invalid_value, one_line, shown
from harness.server.faults import ServerFaults, request_attempt, request_faults
from harness.server.keys import DEFAULT_TTL_SECONDS, MAX_TTL_SECONDS, MIN_TTL_SECONDS, KeyKind, KeyStore
from harness.server.persona import Persona, PersonaError, parse_persona_text

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "Location"}
WORKER_KEY = web.AppKey("rth_worker", str)
# aiohttp's default (8190) would cut persona headers short with a bare 400 of its own.
MAX_FIELD_SIZE = MAX_HEADER_CHARS + 1024


@web.middleware
async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """CORS preflight, the API error shape for every failure, CORS headers on every answer; in a
    ``--workers`` stand-in, the answering process's id and a closed connection (see cluster)."""
    response = await _answer(request, handler)
    worker = request.app.get(WORKER_KEY)
    if worker is not None:
        response.headers[WORKER_HEADER] = worker
        response.headers["Access-Control-Expose-Headers"] = f"Location, {WORKER_HEADER}"
        response.force_close()
    return response


async def _answer(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method == "OPTIONS" and request.path.startswith("/v1/realtime"):
        allowed = request.headers.get("Access-Control-Request-Headers", "authorization, content-type")
        return web.Response(
            status=204,
            headers={
                **_CORS,
                "Access-Control-Allow-Methods": "POST, OPTIONS",
                "Access-Control-Allow-Headers": allowed,
                "Access-Control-Max-Age": "600",
            },
        )
    try:
        response = await handler(request)
    except ApiError as error:
        response = web.json_response(error.http_body(), status=error.status, headers=error.headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        if exc.status in (404, 405):
            message = f"Invalid URL ({request.method} {one_line(request.path, MAX_PARAM_CHARS)})"
        elif exc.status == 413:
            limit = (exc.text or "").rstrip(".")  # aiohttp's text names the limit
            message = f"The request body is too large: {limit}."
        else:
            message = exc.reason
        body = ApiError(message, code=None, status=exc.status).http_body()
        response = web.json_response(body, status=exc.status)
    except Exception:
        logger.exception("unhandled error in %s %s", request.method, request.path)
        internal = ApiError("The stand-in had an internal error.", code=None, status=500, type="server_error")
        response = web.json_response(internal.http_body(), status=500)
    response.headers.update(_CORS)
    if response.status >= 400 and not request.content.is_eof():
        # A body refused unread may not decode either (a broken chunk or Content-Encoding): say
        # ``Connection: close`` rather than let aiohttp drop a connection the client would reuse.
        response.force_close()
    return response


class Api:
    """The route handlers, bound to one server's keys, engines and call registry; ``siblings``
    and ``worker`` (the process id it names) for one process of a ``--workers`` stand-in."""

    def __init__(
        self,
        engines: Engines,
        keys: KeyStore,
        calls: dict[str, Call],
        *,
        siblings: Siblings | None = None,
        worker: str | None = None,
    ) -> None:
        self._engines = engines
        self._config = engines.config
        self._keys = keys
        self._calls = calls
        self._siblings = siblings
        self._worker = worker
        self._faults = ServerFaults(self._config.faults)

    def app(self) -> web.Application:
        app = self._new_app()
        app.router.add_post("/v1/realtime/calls", self.create_call)
        app.router.add_post("/v1/realtime/calls/{call_id}/hangup", self.hangup)
        app.router.add_post("/v1/realtime/client_secrets", self.create_client_secret)
        playground.add_routes(app)
        return app

    def control_app(self) -> web.Application:
        """A worker's private port: hangups its siblings forward (see :mod:`harness.server.cluster`)."""
        app = self._new_app()
        app.router.add_post("/v1/realtime/calls/{call_id}/hangup", self.hangup)
        return app

    def _new_app(self) -> web.Application:
        app = web.Application(middlewares=[api_middleware], client_max_size=256 * 1024)
        if self._worker is not None:
            app[WORKER_KEY] = self._worker
        return app

    async def create_call(self, request: web.Request) -> web.Response:
        principal = self._keys.authenticate(request.headers.get("Authorization"))
        persona = _call_persona(request) or self._engines.default_persona
        own_faults = request_faults(request)
        offer, session_part = await _read_offer(request)
        await self._faults.before_answer("calls", own_faults, request_attempt(request))
        config = session.default_session(self._config, now=self._config.clock())
        if principal.session is not None:
            config = session.merge(config, principal.session)
        if session_part is not None:
            config = session.merge(config, session.validate_update(session_part))
        # Applies to this handler's task and the tasks aiortc starts from it (candidate gathering).
        set_loopback_only(is_loopback_host(self._config.host))
        faults = (*self._faults.faults, *own_faults)
        call = Call(self._engines, config, persona, on_closed=self._forget, faults=faults)
        try:
            answer = await call.answer(offer)
        except BaseException:
            await call.close()
            raise
        self._calls[call.id] = call
        logger.info("call %s created (%s key, persona %s)", call.id, principal.kind, persona.name)
        return web.Response(
            status=201,
            text=answer,
            content_type="application/sdp",
            headers={"Location": f"/v1/realtime/calls/{call.id}"},
        )

    def _forget(self, call: Call) -> None:
        self._calls.pop(call.id, None)

    async def hangup(self, request: web.Request) -> web.Response:
        self._keys.authenticate(request.headers.get("Authorization"))
        call_id = request.match_info["call_id"]
        call = self._calls.get(call_id)
        if call is not None:
            await call.close()
            return web.Response(status=200)
        if (
            self._siblings is not None
            and FORWARDED_HEADER not in request.headers
            and await self._siblings.hangup(call_id, request.headers.get("Authorization"))
        ):
            return web.Response(status=200)  # another process owned the call and hung it up
        missing = f"Call {shown(call_id)} not found."
        raise ApiError(missing, code="call_not_found", status=404, param="call_id")

    async def create_client_secret(self, request: web.Request) -> web.Response:
        principal = self._keys.authenticate(request.headers.get("Authorization"))
        if principal.kind is not KeyKind.STANDARD:
            raise ApiError("Client secrets need a standard API key.", code="invalid_api_key", status=401)
        own_faults = request_faults(request)
        body = await _read_json(request)
        await self._faults.before_answer("client_secrets", own_faults, request_attempt(request))
        ttl = _ttl_seconds(body.get("expires_after"))
        fragment = session.validate_update(body.get("session") or {"type": "realtime"})
        now = self._config.clock()
        key = self._keys.mint(fragment, ttl)
        full = session.merge(session.default_session(self._config, now=now), fragment)
        return web.json_response({"value": key.value, "expires_at": key.expires_at, "session": full})


def _call_persona(request: web.Request) -> Persona | None:
    """The persona a call brings in its ``X-Rth-Persona`` header; a bad one is a 400 naming the header."""
    value = request.headers.get(PERSONA_HEADER)
    if value is None:
        return None
    try:
        return parse_persona_text(decode_persona(value))
    except (ValueError, PersonaError) as exc:  # bad base64 / UTF-8, or a bad persona
        problem = " ".join(str(exc).split())  # an error message is one line
        raise invalid_value(PERSONA_HEADER, f"Invalid '{PERSONA_HEADER}' header: {problem}") from None


async def _read_offer(request: web.Request) -> tuple[str, Any]:
    """The SDP offer and the optional ``session`` JSON, from multipart or a raw application/sdp body."""
    not_utf8 = ApiError(f"{INVALID_OFFER} The offer is not UTF-8 text.", code="invalid_offer")
    if request.content_type == "multipart/form-data":
        content_type = request.headers.get(hdrs.CONTENT_TYPE, "")
        fields = wire.form_fields(content_type, await _read_body(request), ("sdp", "session"))
        if "sdp" not in fields:
            raise ApiError(
                "Missing required parameter: 'sdp'.", code="missing_required_parameter", param="sdp"
            )
        session_part = None
        if "session" in fields:
            try:
                session_part = wire.loads(fields["session"], "The 'session' part")
            except ApiError as error:
                raise invalid_value("session", error.message) from None
        return wire.utf8(fields["sdp"], not_utf8), session_part
    if request.content_type in ("application/sdp", "text/plain"):
        return wire.utf8(await _read_body(request), not_utf8), None
    raise ApiError(
        f"Unsupported Content-Type '{request.content_type}': send application/sdp or multipart/form-data. "
        + INVALID_OFFER,
        code="invalid_offer",
    )


async def _read_body(request: web.Request) -> bytes:
    """The whole body (aiohttp refuses one over ``client_max_size`` with a 413); a body whose
    chunked framing or Content-Encoding is broken is the client's 400, not a 500."""
    try:
        return await request.read()
    except (HttpProcessingError, web.RequestPayloadError):
        raise ApiError(
            "The request body could not be read: its chunked framing or Content-Encoding is broken.",
            code=None,
        ) from None


async def _read_json(request: web.Request) -> dict[str, Any]:
    raw = await _read_body(request)
    if not raw.strip():
        return {}
    body = wire.loads(raw, "The request body")
    if not isinstance(body, dict):
        raise ApiError("The request body must be a JSON object.", code=wire.INVALID_JSON)
    return body


def _ttl_seconds(expires_after: Any) -> int:
    if expires_after is None:
        return DEFAULT_TTL_SECONDS
    if not isinstance(expires_after, dict):
        raise invalid_value("expires_after", "Invalid type for 'expires_after': expected an object.")
    if expires_after.get("anchor", "created_at") != "created_at":
        raise invalid_value("expires_after.anchor", "Invalid value: only 'created_at' is supported.")
    seconds = expires_after.get("seconds", DEFAULT_TTL_SECONDS)
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int)
        or not MIN_TTL_SECONDS <= seconds <= MAX_TTL_SECONDS
    ):
        raise invalid_value(
            "expires_after.seconds",
            f"Invalid value for 'expires_after.seconds': expected {MIN_TTL_SECONDS} to {MAX_TTL_SECONDS}.",
        )
    return seconds
