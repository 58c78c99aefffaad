"""A text data-channel message that is not UTF-8 reaches the conversation as bytes, not a dead call.

aiortc decodes each text message (SCTP PPID 51, "WebRTC String") as UTF-8 on its SCTP receive
path; a message that is not UTF-8 raises there, and the exception ends the DTLS transport's loop:
the data channel and the media of that call stop for good. Browsers cannot send such a message,
but any SCTP stack can. :func:`install_text_guard` wraps that one method of one call's SCTP
transport (an instance attribute: nothing global) so the message is handed on as binary, which
the conversation answers with an ``error`` event like any binary message. Should aiortc rename
the method, the guard says so in the log and leaves the transport as it is.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiortc.rtcsctptransport import WEBRTC_BINARY, WEBRTC_STRING

logger = logging.getLogger(__name__)

_RECEIVE = "_data_channel_receive"
Receive = Callable[[int, int, bytes], Awaitable[None]]


def install_text_guard(transport: Any) -> bool:
    """Hook ``transport`` (an ``RTCSctpTransport``); False when aiortc no longer has the method."""
    original: Receive | None = getattr(transport, _RECEIVE, None)
    if original is None:
        logger.warning("aiortc's SCTP transport has no %s: a text message not in UTF-8 ends a call", _RECEIVE)
        return False
    receive = original

    async def guarded(stream_id: int, pp_id: int, data: bytes) -> None:
        if pp_id == WEBRTC_STRING and not _is_utf8(data):
            pp_id = WEBRTC_BINARY
        await receive(stream_id, pp_id, data)

    setattr(transport, _RECEIVE, guarded)
    return True


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
