"""Token buckets on a hand-moved clock: bursts, refill, Retry-After, bounded memory."""

from __future__ import annotations

import pytest

from bot.ratelimit import RateLimiter
from tests.fakes.clock import ManualClock


def test_a_burst_of_the_full_minute_then_one_every_interval() -> None:
    clock = ManualClock()
    limiter = RateLimiter(3, clock)  # one request back every 20 s
    assert [limiter.take("a").allowed for _ in range(3)] == [True, True, True]
    refused = limiter.take("a")
    assert not refused.allowed and refused.retry_after == 20
    assert limiter.take("b").allowed  # keys do not share a bucket
    clock.advance(seconds=5)
    assert limiter.take("a").retry_after == 15  # refusals do not cost anything
    clock.advance(seconds=15)
    assert limiter.take("a").allowed
    assert not limiter.take("a").allowed


def test_retry_after_is_whole_seconds_rounded_up() -> None:
    clock = ManualClock()
    limiter = RateLimiter(7, clock)  # one every 8.57 s
    for _ in range(7):
        limiter.take("a")
    assert limiter.take("a").retry_after == 9
    clock.advance(seconds=8.5)
    assert limiter.take("a").retry_after == 1


def test_a_full_minute_of_silence_refills_the_whole_burst() -> None:
    clock = ManualClock()
    limiter = RateLimiter(5, clock)
    for _ in range(5):
        limiter.take("a")
    clock.advance(minutes=10)  # more than a minute does not bank more than the burst
    assert [limiter.take("a").allowed for _ in range(6)] == [True] * 5 + [False]


def test_only_the_first_refusal_of_a_run_is_flagged_for_logging() -> None:
    clock = ManualClock()
    limiter = RateLimiter(1, clock)
    limiter.take("a")
    flags = [limiter.take("a").first_refusal for _ in range(3)]
    assert flags == [True, False, False]
    clock.advance(minutes=1)
    assert limiter.take("a").allowed
    assert limiter.take("a").first_refusal


def test_idle_buckets_are_forgotten_after_a_minute() -> None:
    clock = ManualClock()
    limiter = RateLimiter(10, clock)
    for n in range(1000):
        limiter.take(f"client-{n}")
    assert len(limiter) == 1000
    clock.advance(seconds=59)
    limiter.take("late")
    assert len(limiter) == 1001  # none of them is full again yet
    clock.advance(seconds=1)
    limiter.take("later")
    assert len(limiter) == 2  # "late" and "later"; the first thousand are gone


def test_the_number_of_keys_is_capped() -> None:
    clock = ManualClock()
    limiter = RateLimiter(1, clock, max_keys=3)
    for key in ("a", "b", "c"):
        assert limiter.take(key).allowed
    assert not limiter.take("a").allowed  # "a" is now the most recently used
    assert limiter.take("d").allowed
    assert len(limiter) == 3
    assert not limiter.take("a").allowed  # kept
    assert limiter.take("b").allowed  # "b" was the least recently used: forgotten


def test_a_clock_stepped_back_takes_nothing_away() -> None:
    clock = ManualClock()
    limiter = RateLimiter(2, clock)
    limiter.take("a")
    clock.advance(seconds=-3600)
    assert limiter.take("a").allowed
    assert not limiter.take("a").allowed


@pytest.mark.parametrize(("per_minute", "max_keys"), [(0, 10), (-1, 10), (5, 0)])
def test_nonsense_sizes_are_refused(per_minute: int, max_keys: int) -> None:
    with pytest.raises(ValueError):
        RateLimiter(per_minute, ManualClock(), max_keys=max_keys)
