"""Business hours as pure functions of a datetime."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from handoff.hours import BusinessHours, describe_opening, parse_schedule

TOKYO = ZoneInfo("Asia/Tokyo")
HOURS = BusinessHours(
    ranges=parse_schedule("mon-fri 09:00-12:00,13:00-18:00; sat 10:00-14:00"),
    timezone=TOKYO,
    holidays=frozenset({date(2026, 11, 3)}),
)


def tokyo(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=TOKYO)  # 2026-11-02 is a Monday


@pytest.mark.parametrize(
    ("at", "is_open"),
    [
        (tokyo(2, 9), True),
        (tokyo(2, 8, 59), False),
        (tokyo(2, 12, 30), False),  # lunch
        (tokyo(2, 17, 59), True),
        (tokyo(2, 18), False),
        (tokyo(3, 10), False),  # holiday
        (tokyo(7, 13), True),  # Saturday
        (tokyo(8, 11), False),  # Sunday
        (datetime(2026, 11, 2, 0, 30, tzinfo=UTC), True),  # 09:30 in Tokyo
    ],
)
def test_is_open(at: datetime, is_open: bool) -> None:
    assert HOURS.is_open(at) is is_open


@pytest.mark.parametrize(
    ("at", "opens"),
    [
        (tokyo(2, 10), tokyo(2, 10)),  # open now
        (tokyo(2, 12, 15), tokyo(2, 13)),  # after lunch
        (tokyo(2, 19), tokyo(4, 9)),  # skips the holiday
        (tokyo(7, 15), tokyo(9, 9)),  # Saturday afternoon to Monday
        (tokyo(2, 6), tokyo(2, 9)),
    ],
)
def test_next_opening(at: datetime, opens: datetime) -> None:
    assert HOURS.next_opening(at) == opens


def test_always_open_by_default() -> None:
    hours = BusinessHours()
    assert hours.is_open(tokyo(8, 3)) and hours.next_opening(tokyo(8, 3)) == tokyo(8, 3)


def test_wrapping_days_and_lists() -> None:
    ranges = parse_schedule("fri-mon 10:00-11:00; wed,thu 00:00-24:00")
    assert sorted({r.weekday for r in ranges}) == [0, 2, 3, 4, 5, 6]


def test_opening_described_for_the_customer() -> None:
    assert describe_opening(tokyo(4, 9), "ja") == "11月4日(水) 9:00"
    assert describe_opening(tokyo(4, 9), "en") == "Wed 4 Nov, 09:00 (JST)"


def test_today_is_the_business_day() -> None:
    start, end = HOURS.today(datetime(2026, 11, 2, 20, 0, tzinfo=UTC))  # 05:00 on the 3rd
    assert (start, end) == (tokyo(3, 0), tokyo(4, 0))
