"""Faults the stand-in injects, and the network impairments either side applies to RTP.

One schema for ``rth serve --faults FILE.yaml`` (``faults:`` in that file), a scenario's
``faults:`` (sent with its call in ``X-Rth-Faults``, :mod:`harness.protocol.standin`) and a
scenario's or ``rth run``'s ``client_network`` (what the client does to the RTP it sends). Each
fault is a list entry with a ``kind``; docs/reliability.md has the table of kinds and what a
client observes. The stand-in applies them (``harness/server/faults.py``), the client applies
only :class:`Network` (``harness/client/session.py``); both shape packets with
:mod:`harness.protocol.impairment`.

Everything random is drawn from generators seeded by the entry's ``seed``: the same faults give
the same losses and delays on every run.
"""

from __future__ import annotations

import difflib
import json
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from harness.protocol.events import ServerEventType
from harness.protocol.standin import decode_header_text, encode_header_text

Endpoint = Literal["calls", "client_secrets"]
Direction = Literal["to_client", "from_client", "both"]
PresetName = Literal["lossy-wifi", "3g", "edge"]
MAX_MS = 600_000.0  # ten minutes: longer than any wait of a session


class _Model(BaseModel):
    """Strict (an unknown field is a typo) and frozen, as the scenario models."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def check_event_type(name: str) -> str:
    """``name`` if the stand-in sends events of that type, else ValueError naming the closest."""
    known = [str(member) for member in ServerEventType]
    if name in known:
        return name
    close = difflib.get_close_matches(name, known, n=2)
    hint = f"did you mean {' or '.join(close)}?" if close else "use a server event type the stand-in sends"
    raise ValueError(f"'{name}' is not a server event type; {hint}")


class Network(_Model):
    """An impaired path for RTP: random loss, random extra delay (jitter) and a rate cap."""

    loss_percent: float = Field(default=0.0, ge=0, le=100, description="Packets dropped at random")
    jitter_ms: float = Field(
        default=0.0, ge=0, le=5000, description="Each packet delayed by a random 0..N ms (may reorder)"
    )
    rate_kbit_s: float | None = Field(
        default=None,
        gt=0,
        le=100_000,
        description="Link rate: packets queue behind each other, and are dropped once the queue "
        "holds more than 300 ms",
    )
    seed: int = Field(default=0, description="Seed of the random loss and jitter")

    @property
    def impaired(self) -> bool:
        return self.loss_percent > 0 or self.jitter_ms > 0 or self.rate_kbit_s is not None

    def combine(self, other: Network) -> Network:
        """Both impairments on one path: independent losses, added jitter, the lower rate."""
        rates = [rate for rate in (self.rate_kbit_s, other.rate_kbit_s) if rate is not None]
        kept = (1 - self.loss_percent / 100) * (1 - other.loss_percent / 100)
        return Network(
            loss_percent=round(100 * (1 - kept), 6),
            jitter_ms=min(self.jitter_ms + other.jitter_ms, 5000),
            rate_kbit_s=min(rates) if rates else None,
            seed=self.seed * 1_000_003 + other.seed,
        )


# Named impairments (after the usual network-emulation profiles). aiortc's Opus encoder sends
# about 100 kbit/s with headers, so only a cap below that (edge) makes packets queue and drop.
PRESETS: dict[str, Network] = {
    "lossy-wifi": Network(loss_percent=5, jitter_ms=30),
    "3g": Network(loss_percent=2, jitter_ms=80, rate_kbit_s=384),
    "edge": Network(loss_percent=3, jitter_ms=150, rate_kbit_s=64),
}

NetworkSpec = PresetName | Network


def network_of(spec: NetworkSpec) -> Network:
    """A preset's :class:`Network`, or the spec itself."""
    return PRESETS[spec] if isinstance(spec, str) else spec


class _OnEndpoint(_Model):
    on: Endpoint = Field(default="calls", description="POST /realtime/calls or /realtime/client_secrets")

    @model_validator(mode="before")
    @classmethod
    def _yaml_on(cls, data: Any) -> Any:
        """YAML 1.1 (PyYAML) reads an unquoted ``on:`` key as the boolean true: take it as ``on``."""
        if isinstance(data, dict) and True in data and "on" not in data:
            data = {("on" if key is True else key): value for key, value in data.items()}
        return data


class HttpStatus(_OnEndpoint):
    """Answer a session-creating request with an API error of this HTTP status."""

    kind: Literal["http_status"]
    status: int = Field(ge=400, le=599, description="429 and 5xx are what a client should retry")
    retry_after_s: float | None = Field(
        default=None, ge=0, le=3600, description="Sent as the Retry-After header (whole seconds, rounded up)"
    )
    times: int = Field(
        default=1,
        ge=1,
        le=1_000_000,
        description="How many attempts get it: a call's own attempts (X-Rth-Attempt) for a scenario's "
        "faults, the server's requests to that endpoint for `rth serve --faults`",
    )


class SlowAnswer(_OnEndpoint):
    """Hold the HTTP answer of a session-creating request."""

    kind: Literal["slow_answer"]
    ms: float = Field(ge=0, le=MAX_MS)


class _After(_Model):
    after: str | float = Field(
        description="A server event type (right after the stand-in sends it) or ms after the data "
        "channel opened"
    )

    @field_validator("after")
    @classmethod
    def _known(cls, value: str | float) -> str | float:
        if isinstance(value, str):
            return check_event_type(value)
        if not 0 <= value <= MAX_MS:
            raise ValueError(f"after must be 0..{MAX_MS:g} ms, got {value:g}")
        return value


class DropDataChannel(_After):
    """Close the data channel (the call's audio goes on)."""

    kind: Literal["drop_data_channel"]


class DropPeer(_After):
    """Close the whole peer connection, as a server that hangs up."""

    kind: Literal["drop_peer"]


class _EventFault(_Model):
    events: tuple[str, ...] | None = Field(
        default=None, description="Server event types it applies to (default: every event)"
    )
    times: int | None = Field(default=None, ge=1, description="How many events of the call (default: all)")

    @field_validator("events")
    @classmethod
    def _known(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return None if value is None else tuple(check_event_type(name) for name in value)


class Delay(_EventFault):
    """Hold events ``ms`` longer; later events wait behind them (the channel is ordered)."""

    kind: Literal["delay"]
    ms: float = Field(ge=0, le=MAX_MS)


class Duplicate(_EventFault):
    """Send events twice (same ``event_id``), as a retransmission would."""

    kind: Literal["duplicate"]


class Reorder(_EventFault):
    """Send events after the event that follows them."""

    kind: Literal["reorder"]


class NoResponseDone(_Model):
    """Never send ``response.done`` (for the call's first ``times`` responses; default all)."""

    kind: Literal["no_response_done"]
    times: int | None = Field(default=None, ge=1)


class _Inject(_Model):
    after: str = Field(default=ServerEventType.RESPONSE_CREATED.value, description="Server event type")
    times: int = Field(default=1, ge=1, description="How many times (after as many such events)")

    @field_validator("after")
    @classmethod
    def _known(cls, value: str) -> str:
        return check_event_type(value)


class MalformedEvent(_Inject):
    """Send a data-channel message that is not a JSON event, after an event."""

    kind: Literal["malformed_event"]


class UnknownEvent(_Inject):
    """Send a well-formed event of a type the protocol does not define, after an event."""

    kind: Literal["unknown_event"]
    type: str = Field(default="response.future_event", min_length=1, max_length=200)


class _Rtp(_Model):
    direction: Direction = Field(
        default="both", description="to_client: what the stand-in sends; from_client: what it receives"
    )
    seed: int = 0


class RtpLoss(_Rtp):
    kind: Literal["rtp_loss"]
    percent: float = Field(ge=0, le=100)

    def network(self) -> Network:
        return Network(loss_percent=self.percent, seed=self.seed)


class RtpJitter(_Rtp):
    kind: Literal["rtp_jitter"]
    ms: float = Field(ge=0, le=5000)

    def network(self) -> Network:
        return Network(jitter_ms=self.ms, seed=self.seed)


class RtpRate(_Rtp):
    kind: Literal["rtp_rate"]
    kbit_s: float = Field(gt=0, le=100_000)

    def network(self) -> Network:
        return Network(rate_kbit_s=self.kbit_s, seed=self.seed)


class NetworkPreset(_Rtp):
    """A named impairment (``lossy-wifi``, ``3g``, ``edge``) on RTP."""

    kind: Literal["network"]
    preset: PresetName

    def network(self) -> Network:
        preset = PRESETS[self.preset]
        return preset.model_copy(update={"seed": self.seed})


RtpFault = RtpLoss | RtpJitter | RtpRate | NetworkPreset
Fault = Annotated[
    HttpStatus
    | SlowAnswer
    | DropDataChannel
    | DropPeer
    | MalformedEvent
    | UnknownEvent
    | NoResponseDone
    | Delay
    | Duplicate
    | Reorder
    | RtpLoss
    | RtpJitter
    | RtpRate
    | NetworkPreset,
    Field(discriminator="kind"),
]
FAULT_KINDS: tuple[str, ...] = tuple(
    get_args(model.model_fields["kind"].annotation)[0] for model in get_args(get_args(Fault)[0])
)


class FaultsFile(_Model):
    """What ``rth serve --faults FILE.yaml`` reads."""

    faults: tuple[Fault, ...] = Field(description="Applied to every call of the server")


_FAULT_LIST: TypeAdapter[tuple[Fault, ...]] = TypeAdapter(tuple[Fault, ...])


def rtp_network(faults: tuple[Fault, ...], direction: Literal["to_client", "from_client"]) -> Network | None:
    """The impairment of one direction: every RTP fault of ``faults`` that applies to it, combined."""
    combined: Network | None = None
    for fault in faults:
        if isinstance(fault, RtpFault) and fault.direction in (direction, "both"):
            network = fault.network()
            combined = network if combined is None else combined.combine(network)
    return combined


def encode_faults(faults: tuple[Fault, ...]) -> str:
    """The ``X-Rth-Faults`` value of a list of faults; ValueError when it is too large."""
    data = [fault.model_dump(mode="json", exclude_defaults=True) | {"kind": fault.kind} for fault in faults]
    return encode_header_text(json.dumps(data, separators=(",", ":")), "the faults list")


def decode_faults(value: str) -> tuple[Fault, ...]:
    """The faults in an ``X-Rth-Faults`` value; ValueError with one line saying what is wrong."""
    text = decode_header_text(value)
    try:
        data: Any = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"not a JSON list of faults ({exc})") from None
    try:
        return _FAULT_LIST.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "<list>"
        message = " ".join(f"{where}: {first['msg']} ({exc.error_count()} problem(s))".split())
        raise ValueError(message) from None
