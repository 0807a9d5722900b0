"""Pacing calls to a platform's API: at most its published request rate, and nothing at
all while it has told us to wait (a 429's Retry-After).

One pacer per platform account, shared by every concurrent sender in the process. A
sender asks before each call and waits its turn when that is short; while the platform
has asked for a pause, or when the turn is far off, it is told how long instead, so
that the outbox row is put back for then rather than a worker being held.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from time import monotonic

from bot.clock import Clock

# Longer waits are handed back to the outbox as a retry time.
MAX_WAIT_SECONDS = 1.0


class PacedOut(Exception):
    """The API will not take a call for `retry_after` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"paced: the API takes no calls for {retry_after:.1f} s")
        self.retry_after = retry_after


class Pacer:
    """A token bucket of `burst` calls refilled at `per_second`, and a hold until a time.

    Over any one second at most `per_second + burst` calls start, so a platform limit of
    N a second is kept with `per_second + burst <= N`.
    """

    def __init__(
        self,
        per_second: float,
        burst: int,
        clock: Clock,
        max_wait: float = MAX_WAIT_SECONDS,
        time: Callable[[], float] = monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if per_second <= 0 or burst < 1:
            raise ValueError("per_second must be above 0 and burst at least 1")
        self._per_second = per_second
        self._capacity = float(burst)
        self._tokens = float(burst)
        # The rate is physical, so the bucket runs on `time`; a hold is a retry time like
        # an outbox row's, so it is on the app's clock.
        self._time = time
        self._sleep = sleep
        self._clock = clock
        self._at = time()
        self._held_until: datetime | None = None
        self._max_wait = max_wait

    async def take(self) -> None:
        """Wait for this call's turn; raise `PacedOut` while held, or if the turn is more
        than `max_wait` away."""
        while True:
            if self._held_until is not None:
                held = (self._held_until - self._clock()).total_seconds()
                if held > 0:
                    # Not slept: the hold is on the app's clock, and the outbox row put back
                    # for then wakes its loop at that time.
                    raise PacedOut(held)
                self._held_until = None
            wait = self._reserve()
            if wait == 0.0:
                return
            if wait > self._max_wait:
                raise PacedOut(wait)
            await self._sleep(wait)

    def hold(self, seconds: float) -> None:
        """Take no calls for `seconds` from now (the platform said so)."""
        until = self._clock() + timedelta(seconds=seconds)
        if self._held_until is None or until > self._held_until:
            self._held_until = until

    def _reserve(self) -> float:
        """Spend a token and return 0, or return how long until one may be spent."""
        now = self._time()
        self._tokens = min(self._capacity, self._tokens + (now - self._at) * self._per_second)
        self._at = now
        # The epsilon: a wait of exactly (1 - tokens) / rate can come back a hair short.
        if self._tokens >= 1.0 - 1e-9:
            self._tokens = max(0.0, self._tokens - 1.0)
            return 0.0
        return (1.0 - self._tokens) / self._per_second
