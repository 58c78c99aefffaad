"""The client against the stand-in over real loopback WebRTC: both connect modes, auth errors, ICE."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import AsyncIterator

import pytest

from harness.client import ConnectMode, RealtimeSession, Target
from harness.errors import AuthenticationError
from harness.protocol import parse_server_event
from harness.server import ServerConfig, StandInServer
from harness.timeline import EntryKind, Milestone, Timeline

API_KEY = "sk-test-e2e-0123456789"
SESSION = {"type": "realtime", "instructions": "Be brief.", "audio": {"input": {"turn_detection": None}}}


@pytest.fixture
async def server() -> AsyncIterator[StandInServer]:
    async with StandInServer(ServerConfig(host="127.0.0.1", port=0, api_key=API_KEY)) as running:
        yield running


@pytest.mark.parametrize("mode", [ConnectMode.UNIFIED, ConnectMode.EPHEMERAL])
async def test_connects_and_session_is_ready(server: StandInServer, mode: ConnectMode) -> None:
    timeline = Timeline(f"connect-{mode}")
    session = await RealtimeSession.connect(
        Target(base_url=server.base_url, api_key=API_KEY),
        timeline=timeline,
        session_config=SESSION,
        mode=mode,
    )
    try:
        assert re.fullmatch(r"rtc_\w+", session.call_id)
        milestones = [e.type for e in timeline if e.kind == EntryKind.MILESTONE]
        for phase in (
            Milestone.SDP_ANSWER_RECEIVED,
            Milestone.PEER_CONNECTED,
            Milestone.CHANNEL_OPEN,
            Milestone.SESSION_READY,
        ):
            assert phase in milestones
        if mode is ConnectMode.EPHEMERAL:
            assert Milestone.CLIENT_SECRET_CREATED in milestones
        received = [e.data for e in timeline if e.kind == EntryKind.RECEIVED]
        types = [event["type"] for event in received]
        assert types[:2] == ["session.created", "session.updated"]
        updated = received[1]["session"]
        assert updated["instructions"] == "Be brief."
        for event in received:
            parse_server_event(event)
    finally:
        await session.close()


@pytest.mark.parametrize("key", ["", "sk-wrong-key-42"])
async def test_bad_key_is_an_authentication_error_without_the_key(server: StandInServer, key: str) -> None:
    with pytest.raises(AuthenticationError) as caught:
        await RealtimeSession.connect(
            Target(base_url=server.base_url, api_key=key), timeline=Timeline("auth"), session_config=SESSION
        )
    message = str(caught.value)
    assert "401" in message and "invalid_api_key" in message
    assert "\n" not in message
    if key:
        assert key not in message and key not in repr(caught.value)


async def test_ice_uses_only_loopback_candidates(server: StandInServer) -> None:
    timeline = Timeline("ice")
    session = await RealtimeSession.connect(
        Target(base_url=server.base_url, api_key=API_KEY), timeline=timeline, session_config=SESSION
    )
    try:
        offer = session.local_sdp
        answer = session.remote_sdp
    finally:
        await session.close()
    for sdp in (offer, answer):
        candidates = re.findall(r"^a=candidate:\S+ \d+ \w+ \d+ (\S+) \d+", sdp, flags=re.MULTILINE)
        assert candidates, sdp
        assert set(candidates) == {"127.0.0.1"}


@pytest.mark.skipif(
    os.environ.get("RTH_NETNS") != "loopback-only", reason="not inside the loopback-only namespace"
)
def test_suite_runs_in_a_namespace_with_only_loopback() -> None:
    """`make test` runs pytest under `unshare -n`: there is no other interface to send packets to."""
    assert [name for _, name in socket.if_nameindex()] == ["lo"]
