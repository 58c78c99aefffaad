"""aiortc's SCTP sends that fail after their transport closed are not printed as tracebacks, and
every other unretrieved task error still reaches the loop's handler (real loopback WebRTC)."""

from __future__ import annotations

import asyncio
import gc
from typing import TYPE_CHECKING, Any

from aiortc.rtcsctptransport import ShutdownChunk

from harness.client import RealtimeSession, Target

if TYPE_CHECKING:
    from tests.support.fake_realtime import FakeRealtime


async def unretrieved(coroutine: Any) -> None:
    """Run ``coroutine`` as a task nobody awaits, then drop it: asyncio reports its error on GC."""
    task = asyncio.ensure_future(coroutine)
    await asyncio.wait([task])
    del task
    gc.collect()


async def test_an_sctp_send_after_close_is_dropped_and_other_errors_pass(
    fake: FakeRealtime, api_key: str
) -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: reported.append(context))
    try:
        session = await RealtimeSession.connect(
            Target(fake.base_url, api_key), session_config={"type": "realtime"}, timeout=10
        )
        sctp = session.pc.sctp
        assert sctp is not None
        await session.close()

        await unretrieved(sctp._send_chunk(ShutdownChunk()))  # what aiortc's T2 timer does
        assert reported == []

        async def ours() -> None:
            raise ConnectionError("Cannot send encrypted data, not connected")

        await unretrieved(ours())
        (context,) = reported
        assert context["message"] == "Task exception was never retrieved"
        assert isinstance(context["exception"], ConnectionError)
    finally:
        loop.set_exception_handler(None)
