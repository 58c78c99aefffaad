"""One process of a ``--workers`` stand-in: what it shares with its siblings, and hangup forwarding.

The processes share one port (SO_REUSEPORT: the kernel gives each new TCP connection to one of
them) and nothing else but the ephemeral-key secret: a call lives in the process that answered
its offer. ``POST /v1/realtime/calls/{id}/hangup`` may reach any process, so one that does not own
the call forwards the request to its siblings' control ports (one per worker, on 127.0.0.1,
serving only hangup) and answers what the owner answered: 200, or 404 ``call_not_found`` when
no process has the call. A forwarded request carries :data:`FORWARDED_HEADER` and is never
forwarded again. Every answer names its process (``X-Rth-Worker``) and closes its connection, so
a client that keeps connections alive still spreads its calls over the processes.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from urllib.parse import quote

import aiohttp

from harness.server.config import ServerConfig

logger = logging.getLogger(__name__)

FORWARDED_HEADER = "X-Rth-Forwarded-Hangup"
FORWARD_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class WorkerSpec:
    """What the parent hands worker ``index`` (pickled on its stdin): the config (``port`` is the
    shared one), the key-signing secret, and every worker's control port."""

    config: ServerConfig
    index: int
    key_secret: bytes
    control_ports: tuple[int, ...]

    @property
    def control_port(self) -> int:
        return self.control_ports[self.index]


class Siblings:
    """The other workers of a stand-in, as seen by one of them."""

    def __init__(self, spec: WorkerSpec) -> None:
        self._ports = [port for i, port in enumerate(spec.control_ports) if i != spec.index]

    async def hangup(self, call_id: str, authorization: str | None) -> bool:
        """Ask every sibling to hang ``call_id`` up; True when one of them had it."""
        timeout = aiohttp.ClientTimeout(total=FORWARD_TIMEOUT_S)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            answers = await asyncio.gather(
                *(self._forward(http, port, call_id, authorization) for port in self._ports),
                return_exceptions=True,
            )
        for answer in answers:
            if isinstance(answer, BaseException):
                logger.warning("hangup of %s: a sibling did not answer: %s", call_id, answer)
        return any(answer == 200 for answer in answers)

    @staticmethod
    async def _forward(
        http: aiohttp.ClientSession, port: int, call_id: str, authorization: str | None
    ) -> int:
        headers = {FORWARDED_HEADER: "1", **({"Authorization": authorization} if authorization else {})}
        url = f"http://127.0.0.1:{port}/v1/realtime/calls/{quote(call_id, safe='')}/hangup"
        async with http.post(url, headers=headers) as reply:
            return reply.status
