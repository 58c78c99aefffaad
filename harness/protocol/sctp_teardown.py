"""Silence aiortc's SCTP sends that fail after their transport closed.

aiortc's SCTP transport sends from bare ``asyncio.ensure_future(...)`` tasks: its T1 / T2 timers'
retransmissions (``_send_chunk``), a data channel's queued messages (``_data_channel_flush``),
stream resets. When the DTLS or ICE transport closed meanwhile, the task fails with a
``ConnectionError`` ("Cannot send encrypted data, not connected", "Cannot send data, not
connected") that nobody awaits, and asyncio prints "Task exception was never retrieved" with a
traceback (aiortc issue #1040, open).
It happens when a peer closes while its association is still being set up or torn down, which a
loaded machine or a dropped peer makes common: a load run printed one traceback per such session.
The call's outcome is already recorded (closed or lost), so these are logged at debug level; any
other unhandled error still goes to the handler that was there before.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

logger = logging.getLogger(__name__)

_Handler = Any  # asyncio's handler type differs between Python versions
SCTP_MODULE = os.path.join("aiortc", "rtcsctptransport.py")  # its fire-and-forget send tasks


def _is_sctp_send_after_close(context: dict[str, Any]) -> bool:
    error = context.get("exception")
    if not isinstance(error, ConnectionError) or "not connected" not in str(error):
        return False
    task = context.get("future")
    code = getattr(getattr(task, "get_coro", lambda: None)(), "cr_code", None)
    return code is not None and code.co_filename.endswith(SCTP_MODULE)


class _Filter:
    """The loop's exception handler: drops aiortc's SCTP sends after close, passes on the rest."""

    def __init__(self, previous: _Handler | None) -> None:
        self.previous = previous

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if _is_sctp_send_after_close(context):
            logger.debug("aiortc sent an SCTP chunk after its transport closed: %s", context.get("exception"))
        elif self.previous is not None:
            self.previous(loop, context)
        else:
            loop.default_exception_handler(context)


def ignore_sctp_sends_after_close() -> None:
    """Install the filter on the running loop (once; idempotent, keeps any handler already set)."""
    loop = asyncio.get_running_loop()
    handler = loop.get_exception_handler()
    if not isinstance(handler, _Filter):
        loop.set_exception_handler(_Filter(handler))
