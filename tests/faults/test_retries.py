"""The client's retries when creating a session, against the stand-in's injected HTTP faults over real
loopback HTTP and WebRTC: 429/5xx retried with backoff (Retry-After honoured) up to a bound, other
statuses and waits past the deadline given up at once, slow answers cut by the connect timeout."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from pydantic import TypeAdapter

from harness.client import ConnectMode, RealtimeSession, Target
from harness.client.retry import RetryPolicy
from harness.errors import ConnectError, HttpStatusError
from harness.protocol import Milestone
from harness.protocol.faults import Fault, encode_faults
from harness.protocol.standin import ATTEMPT_HEADER, FAULTS_HEADER
from harness.server import ServerConfig, StandInServer
from harness.timeline import Timeline

KEY = "sk-test-retries-0123456789"
SESSION = {"type": "realtime", "audio": {"input": {"turn_detection": None}}}
FAST = RetryPolicy(retries=3, base_s=0.05, max_s=0.2, rng=random.Random(1))
FAULTS: TypeAdapter[tuple[Fault, ...]] = TypeAdapter(tuple[Fault, ...])


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server() -> AsyncIterator[StandInServer]:
    async with StandInServer(ServerConfig(host="127.0.0.1", port=0, api_key=KEY, asr_workers=1)) as running:
        yield running


def target(server: StandInServer, *faults: dict[str, Any], attempts: bool = True) -> Target:
    """A target whose calls bring ``faults`` (the stand-in's header), as the runner builds it."""
    headers = {FAULTS_HEADER: encode_faults(FAULTS.validate_python(faults))} if faults else {}
    return Target(
        server.base_url,
        KEY,
        call_headers=headers,
        secret_headers=headers,
        attempt_header=ATTEMPT_HEADER if attempts else None,
    )


def retries(timeline: Timeline) -> list[dict[str, Any]]:
    return [entry.data for entry in timeline.entries if entry.type == Milestone.CONNECT_RETRY]


async def connect(target: Target, timeline: Timeline, **options: Any) -> RealtimeSession:
    return await RealtimeSession.connect(target, timeline=timeline, session_config=SESSION, **options)


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("mode", [ConnectMode.UNIFIED, ConnectMode.EPHEMERAL])
async def test_503_twice_is_retried_and_the_session_connects(
    server: StandInServer, mode: ConnectMode
) -> None:
    on = "calls" if mode is ConnectMode.UNIFIED else "client_secrets"
    timeline = Timeline("503")
    session = await connect(
        target(server, {"kind": "http_status", "status": 503, "times": 2, "on": on}),
        timeline,
        mode=mode,
        retry=FAST,
    )
    await session.close()
    made = retries(timeline)
    assert [(r["retry"], r["status"]) for r in made] == [(1, 503), (2, 503)]
    assert made[0]["url"].endswith(f"/realtime/{on}")
    assert all(0 <= r["wait_s"] <= FAST.max_s for r in made)


@pytest.mark.asyncio(loop_scope="module")
async def test_retry_after_is_honoured(server: StandInServer) -> None:
    timeline = Timeline("429")
    faults = {"kind": "http_status", "status": 429, "retry_after_s": 1}
    session = await connect(target(server, faults), timeline, retry=FAST)
    await session.close()
    (made,) = retries(timeline)
    assert made["status"] == 429 and made["wait_s"] >= 1.0  # the backoff alone would be <= 0.2 s
    retried_at = next(e.t for e in timeline.entries if e.type == Milestone.CONNECT_RETRY)
    answered_at = next(e.t for e in timeline.entries if e.type == Milestone.SDP_ANSWER_RECEIVED)
    assert answered_at - retried_at >= 1.0


@pytest.mark.asyncio(loop_scope="module")
async def test_retries_are_bounded_and_counted_in_the_error(server: StandInServer) -> None:
    timeline = Timeline("500")
    with pytest.raises(HttpStatusError) as caught:
        await connect(
            target(server, {"kind": "http_status", "status": 500, "times": 99}), timeline, retry=FAST
        )
    error = caught.value
    assert (error.status, error.retries) == (500, 3) and "after 3 retries" in str(error)
    assert "HTTP 500" in str(error) and "\n" not in str(error) and KEY not in str(error)
    assert len(retries(timeline)) == 3


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("status", [400, 404])
async def test_a_status_retrying_cannot_fix_fails_at_once(server: StandInServer, status: int) -> None:
    timeline = Timeline("400")
    with pytest.raises(HttpStatusError) as caught:
        await connect(target(server, {"kind": "http_status", "status": status}), timeline, retry=FAST)
    assert caught.value.status == status and caught.value.retries == 0 and not caught.value.retryable
    assert retries(timeline) == []


@pytest.mark.asyncio(loop_scope="module")
async def test_a_retry_after_past_the_deadline_is_not_waited(server: StandInServer) -> None:
    started = time.monotonic()
    with pytest.raises(HttpStatusError, match="would pass the connect timeout"):
        faults = {"kind": "http_status", "status": 429, "retry_after_s": 30}
        await connect(target(server, faults), Timeline("late"), retry=FAST, timeout=5)
    assert time.monotonic() - started < 3  # neither 30 s nor the 5 s timeout


@pytest.mark.asyncio(loop_scope="module")
async def test_a_slow_answer_is_cut_by_the_connect_timeout(server: StandInServer) -> None:
    started = time.monotonic()
    with pytest.raises(ConnectError, match=r"timed out after 1 s"):
        await connect(target(server, {"kind": "slow_answer", "ms": 10_000}), Timeline("slow"), timeout=1)
    assert time.monotonic() - started < 3
    await asyncio.sleep(0)
    timeline = Timeline("slowish")
    session = await connect(target(server, {"kind": "slow_answer", "ms": 400}), timeline)
    await session.close()
    offer = next(e.t for e in timeline.entries if e.type == Milestone.SDP_OFFER_CREATED)
    answer = next(e.t for e in timeline.entries if e.type == Milestone.SDP_ANSWER_RECEIVED)
    assert answer - offer >= 0.4


@pytest.mark.asyncio(loop_scope="module")
async def test_without_attempt_numbers_a_call_fault_answers_every_attempt(server: StandInServer) -> None:
    """The stand-in keeps no count per call: a call's fault counts the attempts the client numbers."""
    with pytest.raises(HttpStatusError) as caught:
        faults = {"kind": "http_status", "status": 503, "times": 1}
        await connect(target(server, faults, attempts=False), Timeline("unnumbered"), retry=FAST)
    assert caught.value.retries == 3


@pytest.mark.asyncio(loop_scope="module")
async def test_a_bad_faults_header_is_the_apis_400_naming_it(server: StandInServer) -> None:
    bad = Target(server.base_url, KEY, call_headers={FAULTS_HEADER: "not base64!"})
    with pytest.raises(HttpStatusError) as caught:
        await connect(bad, Timeline("bad"), retry=FAST)
    assert caught.value.status == 400 and FAULTS_HEADER in str(caught.value)


async def test_server_faults_count_the_servers_requests() -> None:
    """``rth serve --faults``: the plan's ``times`` counts requests to the server, whoever sends them."""
    config = ServerConfig(
        host="127.0.0.1",
        port=0,
        api_key=KEY,
        asr_workers=1,
        faults=FAULTS.validate_python([{"kind": "http_status", "status": 503, "times": 1}]),
    )
    async with StandInServer(config) as running:
        plain = Target(running.base_url, KEY)
        first, second = Timeline("first"), Timeline("second")
        for timeline in (first, second):
            session = await connect(plain, timeline, retry=FAST)
            await session.close()
    assert [len(retries(first)), len(retries(second))] == [1, 0]
