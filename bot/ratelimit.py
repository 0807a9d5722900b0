"""Token buckets in memory: at most N requests a minute per key, in bursts of up to N.

Each process keeps its own buckets, so with several replicas behind a load balancer the
effective limit is per replica. Memory stays bounded: a bucket left alone for a minute
has refilled completely, which is the same as having no bucket, so it is dropped; and a
hard cap on the number of keys drops the least recently used beyond it.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

from bot.clock import Clock

# Enough for every client active within a minute on a busy site; a flood of distinct keys
# beyond this forgets the quietest ones instead of growing without end. Measured: about
# 300 bytes a key, so some 30 MB per limiter at the cap.
DEFAULT_MAX_KEYS = 100_000


@dataclass(frozen=True)
class Verdict:
    """What `RateLimiter.take` decided."""

    allowed: bool
    # Whole seconds until one request would be allowed again; 0 when allowed.
    retry_after: int = 0
    # True for the first refusal after an allowed request: worth one log line, where
    # every refusal of a flood would not be.
    first_refusal: bool = False


_ALLOWED = Verdict(allowed=True)


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float  # when `tokens` was last brought up to date, in clock seconds
    refusing: bool = False


class RateLimiter:
    """`per_minute` requests a minute per key, of which all may come at once."""

    def __init__(self, per_minute: int, clock: Clock, max_keys: int = DEFAULT_MAX_KEYS) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be above 0")
        if max_keys <= 0:
            raise ValueError("max_keys must be above 0")
        self._capacity = float(per_minute)
        self._per_second = per_minute / 60.0
        # From empty to full takes this long, so an older bucket is as good as none.
        self._idle_after = self._capacity / self._per_second
        self._clock = clock
        self._max_keys = max_keys
        # Least recently used first: eviction only ever looks at the front.
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: str) -> Verdict:
        """Spend one request of `key`'s allowance, or say how long to wait for one."""
        now = self._clock().timestamp()
        self._forget_idle(now)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(tokens=self._capacity, at=now)
            self._buckets[key] = bucket
            if len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            # max(): a clock stepped back must not take tokens away.
            elapsed = max(0.0, now - bucket.at)
            bucket.tokens = min(self._capacity, bucket.tokens + elapsed * self._per_second)
            bucket.at = max(bucket.at, now)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            bucket.refusing = False
            return _ALLOWED
        # The epsilon keeps float noise (19.000000000000004 s) from adding a second.
        wait = math.ceil((1.0 - bucket.tokens) / self._per_second - 1e-9)
        first = not bucket.refusing
        bucket.refusing = True
        return Verdict(allowed=False, retry_after=max(1, wait), first_refusal=first)

    def _forget_idle(self, now: float) -> None:
        while self._buckets:
            key, oldest = next(iter(self._buckets.items()))
            if now - oldest.at < self._idle_after:
                return
            del self._buckets[key]
