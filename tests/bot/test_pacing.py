"""The pacer keeps a platform's request rate and its Retry-After, on a fake timeline; the
Retry-After header is read as seconds or left to the outbox's backoff."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from bot.pacing import PacedOut, Pacer
from bot.ports import retry_after_seconds
from tests.fakes.clock import ManualClock


@dataclass
class Ticks:
    """Monotonic seconds that move only when the pacer sleeps."""

    now: float = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


async def test_a_burst_goes_at_once_and_the_rest_at_the_rate(ticks: Ticks) -> None:
    pacer = Pacer(per_second=10, burst=5, clock=ManualClock(), time=ticks, sleep=ticks.sleep)
    started: list[float] = []
    for _ in range(15):
        await pacer.take()
        started.append(ticks.now)
    assert started[:5] == [0.0] * 5
    # Then one every 0.1 s: ten more take a second.
    assert started[14] == pytest.approx(1.0)
    # Never more than rate + burst in any one second.
    assert sum(1 for t in started if t < 1.0) <= 10 + 5


async def test_a_hold_stops_every_call_until_it_ends(ticks: Ticks) -> None:
    clock = ManualClock()
    pacer = Pacer(per_second=100, burst=10, clock=clock, time=ticks, sleep=ticks.sleep)
    pacer.hold(120)
    with pytest.raises(PacedOut) as refused:
        await pacer.take()
    assert refused.value.retry_after == pytest.approx(120)
    clock.advance(seconds=119.5)
    with pytest.raises(PacedOut) as refused:
        await pacer.take()  # even half a second: the outbox puts the row back for then
    assert refused.value.retry_after == pytest.approx(0.5)
    clock.advance(seconds=0.5)
    await pacer.take()
    assert ticks.now == 0.0


async def test_a_shorter_hold_does_not_cut_a_longer_one(ticks: Ticks) -> None:
    clock = ManualClock()
    pacer = Pacer(per_second=100, burst=10, clock=clock, time=ticks, sleep=ticks.sleep)
    pacer.hold(60)
    pacer.hold(5)
    clock.advance(seconds=10)
    with pytest.raises(PacedOut) as refused:
        await pacer.take()
    assert refused.value.retry_after == pytest.approx(50)


def test_nonsense_rates_are_refused() -> None:
    with pytest.raises(ValueError):
        Pacer(per_second=0, burst=1, clock=ManualClock())
    with pytest.raises(ValueError):
        Pacer(per_second=1, burst=0, clock=ManualClock())


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("120", 120.0), ("0.5", 0.5), (None, None), ("Wed, 21 Oct 2026 07:28:00 GMT", None),
     ("inf", None), ("nan", None), ("-5", None)],
)  # fmt: skip
def test_retry_after_is_read_as_seconds_or_left_to_the_backoff(
    header: str | None, seconds: float | None
) -> None:
    assert retry_after_seconds(header) == seconds
