"""ICE candidate gathering policy: the one place that decides which local addresses WebRTC uses.

aioice's host gathering skips 127.0.0.1 and ::1, so by default a "local" call between two peers
on this machine gathers the machine's external address and sends its ICE and RTP there. When the
peer is on loopback (the client targeting 127.0.0.1, or the stand-in bound to 127.0.0.1) we must
gather only 127.0.0.1: tests and benchmarks never send a packet elsewhere.

aioice has no option for this, so :func:`install` wraps ``aioice.ice.get_host_addresses`` once
per process, and the wrapper consults a context variable set by :func:`loopback_only`. Context
variables follow asyncio tasks, so a client and an in-process stand-in can hold different
policies in one event loop.
"""

from __future__ import annotations

import contextvars
import ipaddress
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from aiortc import RTCConfiguration

LOOPBACK_ADDRESS = "127.0.0.1"

_loopback_only: contextvars.ContextVar[bool] = contextvars.ContextVar("rth_loopback_only", default=False)
_installed = False


def is_loopback_host(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def install() -> None:
    """Wrap aioice's host address discovery (idempotent)."""
    global _installed
    if _installed:
        return
    import aioice.ice

    original: Callable[[bool, bool], list[str]] = aioice.ice.get_host_addresses

    def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        if _loopback_only.get():
            return [LOOPBACK_ADDRESS] if use_ipv4 else []
        return original(use_ipv4, use_ipv6)

    aioice.ice.get_host_addresses = get_host_addresses
    _installed = True


@contextmanager
def loopback_only(enabled: bool = True) -> Iterator[None]:
    """Within this context (and tasks started from it) gather only 127.0.0.1 candidates."""
    install()
    token = _loopback_only.set(enabled)
    try:
        yield
    finally:
        _loopback_only.reset(token)


def set_loopback_only(enabled: bool) -> None:
    """Set the policy for the current task and the tasks it starts (for long-lived handlers)."""
    install()
    _loopback_only.set(enabled)


def rtc_configuration() -> RTCConfiguration:
    """No STUN/TURN: on loopback (and offline) a public STUN server only delays gathering by 5 s."""
    return RTCConfiguration(iceServers=[])
