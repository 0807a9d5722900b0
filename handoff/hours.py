"""Business hours: a weekly schedule in one time zone, minus holidays.

Pure functions of a datetime, so callers pass their injected clock's "now". The schedule
is written as the admin would say it:

    mon-fri 09:00-18:00
    mon-fri 09:00-12:00,13:00-18:00; sat 10:00-14:00

An empty schedule means always open.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
# How far ahead to look for the next opening: a year of holidays is the worst case.
_SEARCH_DAYS = 400

_RANGE = re.compile(r"(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})")


@dataclass(frozen=True)
class OpenRange:
    """Open on `weekday` (0 = Monday) from `start` to `end`, minutes after midnight."""

    weekday: int
    start: int
    end: int


ALWAYS_OPEN = tuple(OpenRange(day, 0, MINUTES_PER_DAY) for day in range(7))


@dataclass(frozen=True)
class BusinessHours:
    """When people answer. `ranges` are local times in `timezone`."""

    ranges: tuple[OpenRange, ...] = ALWAYS_OPEN
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Tokyo"))
    holidays: frozenset[date] = frozenset()

    def is_open(self, at: datetime) -> bool:
        """Whether `at` (an aware datetime) falls inside the business hours."""
        local = at.astimezone(self.timezone)
        if local.date() in self.holidays:
            return False
        minute = local.hour * 60 + local.minute
        return any(r.weekday == local.weekday() and r.start <= minute < r.end for r in self.ranges)

    def next_opening(self, at: datetime) -> datetime:
        """`at` itself when open, else the next moment the business opens (in the
        business's time zone). ValueError if it never opens again."""
        if self.is_open(at):
            return at
        local = at.astimezone(self.timezone)
        for offset in range(_SEARCH_DAYS):
            day = local.date() + timedelta(days=offset)
            if day in self.holidays:
                continue
            starts = sorted(r.start for r in self.ranges if r.weekday == day.weekday())
            for start in starts:
                opening = datetime.combine(day, _time(start), tzinfo=self.timezone)
                if opening > local:
                    return opening
        raise ValueError("the business hours never open")

    def today(self, at: datetime) -> tuple[datetime, datetime]:
        """The local calendar day containing `at`, as [start, end) aware datetimes."""
        local = at.astimezone(self.timezone)
        start = datetime.combine(local.date(), time(0), tzinfo=self.timezone)
        return start, datetime.combine(
            local.date() + timedelta(days=1), time(0), tzinfo=self.timezone
        )


def _time(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)


def parse_schedule(text: str) -> tuple[OpenRange, ...]:
    """Parse "mon-fri 09:00-18:00; sat 10:00-14:00"; ValueError says what is wrong."""
    ranges: list[OpenRange] = []
    for group in (g.strip() for g in text.split(";")):
        if not group:
            continue
        days_part, _, times_part = group.partition(" ")
        if not times_part.strip():
            raise ValueError(f'"{group}": expected days then times, like "mon-fri 09:00-18:00"')
        days = _parse_days(days_part.lower())
        for piece in (p.strip() for p in times_part.split(",")):
            start, end = _parse_range(piece)
            ranges.extend(OpenRange(day, start, end) for day in days)
    if not ranges:
        raise ValueError('expected at least one range, like "mon-fri 09:00-18:00"')
    return tuple(sorted(ranges, key=lambda r: (r.weekday, r.start)))


def _parse_days(text: str) -> list[int]:
    days: list[int] = []
    for item in text.split(","):
        first, dash, last = item.partition("-")
        if first not in DAYS or (dash and last not in DAYS):
            raise ValueError(f'"{item}": expected days like mon, mon-fri or sat,sun')
        start = DAYS.index(first)
        stop = DAYS.index(last) if dash else start
        span = (stop - start) % 7  # "fri-mon" wraps over the weekend
        days.extend((start + i) % 7 for i in range(span + 1))
    return days


def _parse_range(text: str) -> tuple[int, int]:
    match = _RANGE.fullmatch(text)
    if match is None:
        raise ValueError(f'"{text}": expected a time range like 09:00-18:00')
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if h1 > 23 or m1 > 59 or m2 > 59 or end > MINUTES_PER_DAY:
        raise ValueError(f'"{text}": not a time of day (00:00 to 24:00)')
    if start >= end:
        raise ValueError(f'"{text}": the end must be after the start, on the same day')
    return start, end


def parse_timezone(text: str) -> ZoneInfo:
    """An IANA time zone such as Asia/Tokyo; ValueError when unknown."""
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("expected an IANA time zone such as Asia/Tokyo") from None


def parse_holidays(text: str) -> frozenset[date]:
    """Comma-separated ISO dates ("2026-12-31,2027-01-01")."""
    days: set[date] = set()
    for item in (i.strip() for i in text.split(",")):
        if not item:
            continue
        try:
            days.add(date.fromisoformat(item))
        except ValueError:
            raise ValueError(f'"{item}": expected an ISO date like 2026-12-31') from None
    return frozenset(days)


def describe_opening(at: datetime, locale: str) -> str:
    """When the business opens, as a customer reads it: "11月3日(火) 9:00" or
    "Tue 3 Nov, 09:00 (JST)", in the business's time zone."""
    if locale == "ja":
        weekday = "月火水木金土日"[at.weekday()]
        text = f"{at.month}月{at.day}日({weekday}) {at.hour}:{at.minute:02d}"
    else:
        text = f"{DAYS[at.weekday()].title()} {at.day} {at.strftime('%b')}, {at:%H:%M}"
    zone = at.tzname()
    # Japanese customers of a Japanese business need no "(JST)".
    if zone and (locale != "ja" or zone != "JST"):
        text += f" ({zone})"
    return text
