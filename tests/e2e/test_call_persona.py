"""A persona travels with its call (``X-Rth-Persona``): calls connected at the same time to one
stand-in each get their own replies, a call without the header gets the server's default, and a
bad header value is a 400 in the API's error shape naming the header. Real loopback WebRTC."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from harness.client import ConnectMode, RealtimeSession, Target
from harness.errors import ConnectError
from harness.protocol import PERSONA_HEADER, encode_persona
from harness.protocol.standin import MAX_HEADER_CHARS, MAX_PERSONA_BYTES
from harness.server import ServerConfig, StandInServer
from harness.timeline import Timeline

pytestmark = pytest.mark.asyncio(loop_scope="module")

API_KEY = "sk-test-persona-0123456789"
SESSION = {"type": "realtime", "audio": {"input": {"turn_detection": None}}}
QUESTION = "What is the weather like in Paris?"
BOOKINGS = "name: bookings\nrules:\n  - match: weather\n    reply: This is the bookings desk.\n"
FORECAST = (
    "name: forecast\nrules:\n  - match: 'weather like in (?P<city>\\w+)'\n    reply: It is sunny in {city}.\n"
)
DEFAULT = "name: default\nfallback: 'Default persona: {transcript}'\n"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[StandInServer]:
    """One stand-in whose default persona is a file, as with ``rth serve --persona FILE``."""
    default = Path(tmp_path_factory.mktemp("personas")) / "default.yaml"
    default.write_text(DEFAULT, encoding="utf-8")
    config = ServerConfig(host="127.0.0.1", port=0, api_key=API_KEY, persona=default, asr_workers=1)
    async with StandInServer(config) as running:
        yield running


def persona_target(server: StandInServer, persona: str | None) -> Target:
    headers = {PERSONA_HEADER: encode_persona(persona)} if persona is not None else {}
    return Target(server.base_url, API_KEY, call_headers=headers)


@asynccontextmanager
async def sessions(
    server: StandInServer, calls: Sequence[tuple[str | None, ConnectMode]]
) -> AsyncIterator[list[RealtimeSession]]:
    """All ``(persona, mode)`` calls connected at the same time; all hung up afterwards."""
    connecting = (
        RealtimeSession.connect(
            persona_target(server, persona), timeline=Timeline(f"call{i}"), session_config=SESSION, mode=mode
        )
        for i, (persona, mode) in enumerate(calls)
    )
    results = await asyncio.gather(*connecting, return_exceptions=True)
    opened = [result for result in results if isinstance(result, RealtimeSession)]
    try:
        for result in results:
            if isinstance(result, BaseException):
                raise result
        yield opened
    finally:
        await asyncio.gather(*(session.close() for session in opened))


async def ask(session: RealtimeSession) -> str:
    """Type QUESTION as the user, ask for a response, return what the assistant said (its audio's
    transcript)."""
    text = {"type": "input_text", "text": QUESTION}
    item = {"type": "message", "role": "user", "content": [text]}
    await session.send({"type": "conversation.item.create", "item": item})
    await session.send({"type": "response.create"})
    done = await session.wait_for("response.output_audio_transcript.done", timeout=30)
    return str(done["transcript"])


async def test_concurrent_calls_each_get_their_own_persona(server: StandInServer) -> None:
    calls = [(BOOKINGS, ConnectMode.UNIFIED), (FORECAST, ConnectMode.EPHEMERAL), (None, ConnectMode.UNIFIED)]
    async with sessions(server, calls) as connected:
        assert len(server.calls) == 3  # all live at once: no persona is server-wide state
        replies = await asyncio.gather(*(ask(session) for session in connected))
    assert replies == [
        "This is the bookings desk.",
        "It is sunny in Paris.",
        "Default persona: What is the weather like in Paris?",
    ]


async def test_a_call_without_the_header_gets_the_server_default(server: StandInServer) -> None:
    async with sessions(server, [(FORECAST, ConnectMode.UNIFIED)]) as (scripted,):
        assert await ask(scripted) == "It is sunny in Paris."
    async with sessions(server, [(None, ConnectMode.EPHEMERAL)]) as (plain,):
        assert await ask(plain) == "Default persona: What is the weather like in Paris?"


async def test_a_persona_near_the_size_limit_fits_the_header(server: StandInServer) -> None:
    """Larger than aiohttp's default 8 KB header field: the stand-in accepts up to MAX_PERSONA_BYTES."""
    large = FORECAST + "description: " + "x" * (MAX_PERSONA_BYTES - len(FORECAST) - 20) + "\n"
    async with sessions(server, [(large, ConnectMode.UNIFIED)]) as (session,):
        assert await ask(session) == "It is sunny in Paris."


BAD_VALUES = {
    "empty": ("", "empty value"),
    "not-base64url": ("cnVsZXM6IFtd+/8=", "not base64url"),
    "truncated": ("cnVsZ", "truncated"),
    "not-utf8": ("__79", "not UTF-8"),
    "too-long": ("A" * (MAX_HEADER_CHARS + 4), "longer than"),
    "bad-yaml": (encode_persona("rules: [\n"), "not valid YAML"),
    "not-a-mapping": (encode_persona("- weather\n"), "expected a mapping"),
    "bad-regex": (encode_persona("rules:\n  - match: '('\n    reply: x\n"), "bad regular expression"),
    "bad-placeholder": (encode_persona("rules:\n  - match: a\n    reply: '{city}'\n"), "unknown placeholder"),
}


@pytest.mark.parametrize(("value", "problem"), list(BAD_VALUES.values()), ids=list(BAD_VALUES))
async def test_a_bad_header_value_is_a_400_naming_the_header(
    server: StandInServer, value: str, problem: str
) -> None:
    headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/sdp", PERSONA_HEADER: value}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{server.base_url}/realtime/calls", data="v=0\r\n", headers=headers) as reply,
    ):
        status, body = reply.status, await reply.json()
    assert status == 400
    error = body["error"]
    assert (error["type"], error["code"], error["param"]) == (
        "invalid_request_error",
        "invalid_value",
        PERSONA_HEADER,
    )
    assert error["message"].startswith(f"Invalid '{PERSONA_HEADER}' header: ") and problem in error["message"]
    assert "\n" not in error["message"]


async def test_the_client_reports_a_refused_persona_in_one_line(server: StandInServer) -> None:
    bad = encode_persona("rules:\n  - match: '('\n    reply: x\n")
    target = Target(server.base_url, API_KEY, call_headers={PERSONA_HEADER: bad})
    with pytest.raises(ConnectError) as raised:
        await RealtimeSession.connect(target, timeline=Timeline("bad"), session_config=SESSION)
    message = str(raised.value)
    assert "HTTP 400 invalid_value" in message and PERSONA_HEADER in message and "\n" not in message
    assert not server.calls
