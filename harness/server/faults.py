"""Injected faults: which apply to a request or a call, and the HTTP ones (error statuses, slow answers).

A call's faults are the server's (``rth serve --faults FILE.yaml``, :attr:`ServerConfig.faults`)
followed by the call's own (a scenario's ``faults:``, in the ``X-Rth-Faults`` header of the
requests that create its session). The call's own carry their attempt number in
``X-Rth-Attempt``, so ``http_status`` with ``times: 2`` answers that call's first two attempts
and needs no state here; the server's count the requests the server has had at that endpoint
(:class:`ServerFaults`, the one counter kept, per fault of the plan, never per session).

Data-channel faults are :mod:`harness.server.event_faults`; RTP impairment is
:mod:`harness.protocol.impairment`, shared with the client's ``client_network``.
"""

from __future__ import annotations

import asyncio
import math

from aiohttp import web

from harness.protocol.faults import Endpoint, Fault, HttpStatus, SlowAnswer, decode_faults
from harness.protocol.standin import ATTEMPT_HEADER, FAULTS_HEADER
from harness.server.errors import ApiError, invalid_value, one_line

INJECTED = "(injected by the stand-in's http_status fault)"
MAX_PROBLEM_CHARS = 300  # what is wrong with a header: one line, bounded whatever was sent


def request_faults(request: web.Request) -> tuple[Fault, ...]:
    """The faults a request brings in ``X-Rth-Faults``; a bad header is a 400 naming it."""
    value = request.headers.get(FAULTS_HEADER)
    if value is None:
        return ()
    try:
        return decode_faults(value)
    except ValueError as exc:
        problem = one_line(str(exc), MAX_PROBLEM_CHARS)
        raise invalid_value(FAULTS_HEADER, f"Invalid '{FAULTS_HEADER}' header: {problem}") from None


def request_attempt(request: web.Request) -> int:
    """The attempt number in ``X-Rth-Attempt`` (1 without one); a bad one is a 400 naming it."""
    value = request.headers.get(ATTEMPT_HEADER, "1").strip()
    if not value.isdigit() or not 1 <= int(value) <= 1_000_000:
        raise invalid_value(ATTEMPT_HEADER, f"Invalid '{ATTEMPT_HEADER}' header: expected 1, 2, ...")
    return int(value)


def status_error(fault: HttpStatus) -> ApiError:
    """The API's error for an injected status, with ``Retry-After`` when the fault sets one."""
    headers = {}
    if fault.retry_after_s is not None:
        headers["Retry-After"] = str(math.ceil(fault.retry_after_s))
    if fault.status == 429:
        message = f"Rate limit reached for requests. Please try again later. {INJECTED}"
        return ApiError(message, code="rate_limit_exceeded", status=429, type="requests", headers=headers)
    if fault.status >= 500:
        message = f"The server had an error while processing your request. {INJECTED}"
        return ApiError(message, code=None, status=fault.status, type="server_error", headers=headers)
    message = f"Request refused. {INJECTED}"
    return ApiError(message, code="injected_fault", status=fault.status, headers=headers)


class ServerFaults:
    """The server's fault plan, and how many requests each of its ``http_status`` faults answered."""

    def __init__(self, faults: tuple[Fault, ...]) -> None:
        self.faults = faults
        self._requests: dict[Endpoint, int] = {"calls": 0, "client_secrets": 0}

    async def before_answer(self, endpoint: Endpoint, own: tuple[Fault, ...], attempt: int) -> None:
        """Hold the answer (``slow_answer``), then raise the injected status of this request, if
        any: the server's faults by its own request count, the request's by its attempt number."""
        self._requests[endpoint] += 1
        server_count = self._requests[endpoint]
        slow = sum(f.ms for f in (*self.faults, *own) if isinstance(f, SlowAnswer) and f.on == endpoint)
        if slow > 0:
            await asyncio.sleep(slow / 1000)
        for faults, count in ((self.faults, server_count), (own, attempt)):
            for fault in faults:
                if isinstance(fault, HttpStatus) and fault.on == endpoint and count <= fault.times:
                    raise status_error(fault)
