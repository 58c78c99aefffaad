"""Bounded retries of the requests that create a session, on 429 and 5xx answers.

Exponential backoff with full jitter (a random wait up to ``base * 2**n``, capped): sessions
refused together do not come back together. A ``Retry-After`` answer is honoured: the wait is at
least what it asks. A wait that would end past the connect deadline is not waited: the error is
raised at once, saying so, rather than a timeout later. Other errors (401, 400, transport
failures) are raised at once: retrying cannot change them.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from harness.errors import HttpStatusError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """At most ``retries`` retries; backoff ``base_s * 2**(n-1)`` capped at ``max_s``, fully jittered."""

    retries: int = 3
    base_s: float = 0.5
    max_s: float = 8.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def wait_s(self, retry: int, error: HttpStatusError) -> float:
        """How long to wait before retry number ``retry`` (1-based) after ``error``."""
        backoff = self.rng.uniform(0, min(self.max_s, self.base_s * 2 ** (retry - 1)))
        return max(backoff, error.retry_after_s or 0.0)


NO_RETRIES = RetryPolicy(retries=0)
OnRetry = Callable[[int, HttpStatusError, float], None]


async def with_retries(
    request: Callable[[int], Awaitable[T]],
    policy: RetryPolicy,
    *,
    deadline: float,
    on_retry: OnRetry | None = None,
) -> T:
    """``await request(attempt)`` for attempt 1, 2, ... until it does not raise a retryable
    :class:`HttpStatusError`. ``deadline`` is on the loop's clock; ``on_retry(retry, error,
    wait_s)`` is told before each wait. The error finally raised carries ``retries``."""
    loop = asyncio.get_running_loop()
    attempt = 1
    while True:
        try:
            return await request(attempt)
        except HttpStatusError as error:
            retries = attempt - 1
            if not error.retryable:
                raise
            if retries >= policy.retries:
                raise _given_up(error, retries, f"after {retries} retries") from None
            wait = policy.wait_s(attempt, error)
            if loop.time() + wait > deadline:
                reason = f"retry after {wait:.1f} s would pass the connect timeout; {retries} retries"
                raise _given_up(error, retries, reason) from None
            if on_retry is not None:
                on_retry(attempt, error, wait)
            await asyncio.sleep(wait)
            attempt += 1


def _given_up(error: HttpStatusError, retries: int, reason: str) -> HttpStatusError:
    return HttpStatusError(
        f"{error} ({reason})", status=error.status, retry_after_s=error.retry_after_s, retries=retries
    )
