"""Hypothesis strategies of bad input for the stand-in, and the checks of its answers.

HTTP bodies come as recipes (:class:`Offer`, :class:`Multipart`) the test renders with a real SDP
offer, so mutations start from something the server nearly accepts. Every rendered SDP loses its
``a=candidate`` lines: a mutated address could otherwise send the server's ICE checks off
127.0.0.1 (or into mDNS), and a call needs none to be answered.

Data-channel messages are in tests/support/fuzz_events.py.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# Modest and deterministic: the same examples every run, no example database written.
FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_CANDIDATE = re.compile(rb"^[^\n]*candidate[^\n]*(\n|$)", re.IGNORECASE | re.MULTILINE)

printable = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
header_values = st.text(printable, max_size=60)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=10,
)


def without_candidates(sdp: bytes) -> bytes:
    return _CANDIDATE.sub(b"", sdp)


def nested(depth: int, opener: str = "[") -> str:
    closer = {"[": "]", "{": "}"}[opener]
    inner = '"a":' if opener == "{" else ""
    return (opener + inner) * depth + "1" + closer * depth


@dataclass(frozen=True)
class Offer:
    """An SDP body: the real offer as is, cut, with lines dropped, replaced or bytes inserted, or
    random bytes with no offer in them."""

    op: str
    at: float = 0.0
    data: bytes = b""

    def render(self, offer: bytes) -> bytes:
        position = int(len(offer) * self.at)
        lines = offer.split(b"\r\n")
        line = min(int(len(lines) * self.at), len(lines) - 1)
        if self.op == "cut":
            body = offer[:position]
        elif self.op == "drop_line":
            body = b"\r\n".join(lines[:line] + lines[line + 1 :])
        elif self.op == "replace_line":
            body = b"\r\n".join([*lines[:line], self.data, *lines[line + 1 :]])
        elif self.op == "insert":
            body = offer[:position] + self.data + offer[position:]
        elif self.op == "random":
            body = self.data
        else:
            body = offer
        return without_candidates(body)


fractions = st.floats(0, 1)
sdp_lines = st.lists(
    st.sampled_from(
        [
            b"v=0",
            b"m=audio 9 UDP/TLS/RTP/SAVPF 111",
            b"m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
            b"a=setup:actpass",
            b"a=mid:0",
            b"a=rtpmap:111 opus/48000/2",
            b"a=group:BUNDLE 0 1",
            b"m=video 0 x",
        ]
    )
    | st.text(max_size=30).map(str.encode)
    | st.binary(max_size=20),
    max_size=12,
).map(b"\r\n".join)
offers = st.one_of(
    st.just(Offer("as_is")),
    st.builds(Offer, st.sampled_from(["cut", "drop_line"]), fractions),
    st.builds(
        Offer,
        st.just("replace_line"),
        fractions,
        st.text(max_size=40).map(str.encode) | st.binary(max_size=20),
    ),
    st.builds(Offer, st.just("insert"), fractions, st.binary(min_size=1, max_size=20)),
    st.builds(Offer, st.just("random"), data=st.binary(max_size=300) | sdp_lines),
)
call_content_types = (
    st.sampled_from(
        [
            "application/sdp",
            "text/plain",
            "application/sdp; charset=latin-1",
            "application/sdp; charset=nonsense",
            "application/json",
            "application/x-www-form-urlencoded",
            "application/octet-stream",
            "",
            "audio/*",
        ]
    )
    | header_values
)
content_encodings = st.none() | st.sampled_from(["gzip", "deflate", "identity", "x-nonsense"])


@dataclass(frozen=True)
class Part:
    name: str | None
    body: Offer | bytes
    headers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Multipart:
    """A multipart/form-data body: parts, the boundary it uses and the one its Content-Type names
    (None: no boundary parameter), cut after ``cut`` bytes or whole."""

    parts: tuple[Part, ...]
    boundary: str
    declared: str | None
    cut: float | None

    @property
    def content_type(self) -> str:
        return "multipart/form-data" + ("" if self.declared is None else f'; boundary="{self.declared}"')

    def render(self, offer: bytes) -> bytes:
        out = b""
        for part in self.parts:
            disposition = "form-data" + ("" if part.name is None else f'; name="{part.name}"')
            head = "".join(
                f"{header}\r\n" for header in (f"Content-Disposition: {disposition}", *part.headers)
            )
            body = part.body.render(offer) if isinstance(part.body, Offer) else part.body
            out += f"--{self.boundary}\r\n{head}\r\n".encode() + body + b"\r\n"
        out += f"--{self.boundary}--\r\n".encode()
        return out if self.cut is None else out[: int(len(out) * self.cut)]


boundaries = (
    st.text(st.sampled_from("abcXYZ0123456789'()+_,-./:=? "), min_size=1, max_size=30)
    .map(str.strip)
    .filter(bool)
)
session_parts = st.one_of(
    st.just(b'{"type": "realtime", "instructions": "Be brief."}'),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.binary(max_size=40),
    st.integers(60, 2000).map(lambda depth: nested(depth).encode()),
)
parts = st.builds(
    Part,
    st.sampled_from(["sdp", "session", "other", None]) | st.text(printable, max_size=10),
    offers | session_parts,
    st.lists(
        st.sampled_from(["Content-Type: application/sdp", "Content-Type: text/plain; charset=nonsense"])
        | header_values.map(lambda v: f"X-Junk: {v}"),
        max_size=2,
    ).map(tuple),
)


@st.composite
def multiparts(draw: st.DrawFn) -> Multipart:
    boundary = draw(boundaries)
    declared = draw(st.just(boundary) | st.none() | boundaries)
    cut = draw(st.none() | st.floats(0, 1, exclude_max=True))
    return Multipart(tuple(draw(st.lists(parts, max_size=4))), boundary, declared, cut)


def secret_bodies() -> st.SearchStrategy[bytes]:
    """Bodies for POST /v1/realtime/client_secrets: near-valid requests, any JSON, not JSON."""
    seconds = st.integers(-100, 10_000) | json_values
    request = st.fixed_dictionaries(
        {},
        optional={
            "expires_after": json_values
            | st.fixed_dictionaries(
                {}, optional={"anchor": st.just("created_at") | json_values, "seconds": seconds}
            ),
            "session": json_values
            | st.fixed_dictionaries(
                {"type": st.just("realtime") | json_values},
                optional={
                    "instructions": json_values,
                    "output_modalities": json_values,
                    "audio": json_values,
                },
            ),
        },
    )
    return st.one_of(
        (request | json_values).map(lambda value: json.dumps(value).encode()),
        st.binary(max_size=200),
        st.integers(1, 3000).map(lambda depth: f'{{"session": {nested(depth, "{")}}}'.encode()),
        st.sampled_from(
            [
                "NaN",
                '{"session": {"type": "realtime", "max_output_tokens": Infinity}}',
                "1e999",
                "1" * 5000,
                '{"expires_after": {"seconds": 1e999}}',
                "\ufeff{}",
                '{"a": 1',
                "{} {}",
                '"\\ud800"',
            ]
        ).map(str.encode),
    )


def routes() -> st.SearchStrategy[tuple[str, str]]:
    """(method, path): the stand-in's routes, hangups of calls that do not exist, the playground's
    files and paths that try to climb out of its folder, anything else."""
    segments = st.text(st.characters(codec="utf-8", exclude_characters="/?#%"), min_size=1, max_size=30)
    paths = st.one_of(
        st.sampled_from(["/v1/realtime/calls", "/v1/realtime/client_secrets", "/v1/realtime", "/v1", "/"]),
        segments.map(lambda call_id: f"/v1/realtime/calls/{call_id}/hangup"),
        st.lists(
            st.sampled_from(["..", "index.html", "playground.js", "%2e%2e", "etc", "passwd"]) | segments,
            max_size=4,
        ).map(lambda parts: "/playground/" + "/".join(parts)),
        st.text(printable, max_size=40).map(lambda rest: "/v1/" + rest.replace("?", "").replace("#", "")),
    )
    return st.tuples(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]), paths)


def assert_api_error(status: int, text: str) -> dict[str, Any]:
    """A 4xx with the API's error shape: exactly message, type, param, code; one line of text."""
    assert 400 <= status < 500, (status, text[:300])
    body = json.loads(text)
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}, error
    assert error["type"] == "invalid_request_error", error
    assert isinstance(error["message"], str) and error["message"].strip(), error
    assert "\n" not in error["message"] and len(error["message"]) <= 1024, error
    assert error["code"] is None or isinstance(error["code"], str), error
    assert error["param"] is None or isinstance(error["param"], str), error
    return dict(error)
