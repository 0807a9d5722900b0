"""What counts as a follow-up for FCR and self-resolution: a conversation of the same
customer (any channel) opened after this one closed, within the window. Overlapping,
back-to-back, late and cross-channel conversations, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.db import SessionFactory, make_engine, make_session_factory, upgrade
from bot.models import Customer, Identity
from surveys.kpis import summary
from tests.conftest import Database
from tests.surveys.history import add_conversation

START, END = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC)
NOW = datetime(2026, 12, 31, tzinfo=UTC)  # every window has closed
DAY = timedelta(days=1)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


# (customer, channel, opened, closed) of bot-answered, self-resolved conversations
Visit = tuple[str, str, datetime, datetime]

SCENARIOS: dict[str, tuple[list[Visit], int, int]] = {
    # the example: web 9:00-9:30 and LINE 9:05-9:10, nothing after; both were
    # first contacts
    "overlapping": (
        [("F", "web", at(2, 9), at(2, 9, 30)), ("F", "line", at(2, 9, 5), at(2, 9, 10))],
        2, 2,
    ),
    # one inside the other, and a third after the outer one closed: that one is a
    # follow-up of both
    "nested then back": (
        [("F", "web", at(2, 9), at(2, 12)), ("F", "line", at(2, 9, 30), at(2, 9, 40)),
         ("F", "line", at(2, 13), at(2, 13, 10))],
        1, 1,
    ),
    # the next one opens the moment the first closes: a follow-up
    "back to back": (
        [("G", "web", at(3, 10), at(3, 10, 10)), ("G", "web", at(3, 10, 10), at(3, 10, 20))],
        1, 1,
    ),
    # the customer comes back on another channel the next day
    "cross-channel follow-up": (
        [("H", "line", at(4, 9), at(4, 9, 10)), ("H", "web", at(5, 9), at(5, 9, 5))],
        1, 1,
    ),
    # back exactly 7 days after the close: outside the window (its end is exclusive)
    "after the window": (
        [("I", "web", at(6, 9), at(6, 9, 10)), ("I", "web", at(13, 9, 10), at(13, 9, 20))],
        2, 2,
    ),
    # two customers at the same time do not follow each other up
    "other customers": (
        [("J", "web", at(7, 9), at(7, 9, 10)), ("K", "web", at(7, 9, 20), at(7, 9, 30))],
        2, 2,
    ),
}  # fmt: skip


@pytest.fixture
async def sessions(database: Database) -> AsyncIterator[SessionFactory]:
    engine = make_engine(database.url, database.schema)
    await upgrade(engine)
    yield make_session_factory(engine)
    await engine.dispose()


async def build(sessions: SessionFactory, visits: list[Visit]) -> None:
    async with sessions() as s, s.begin():
        identities: dict[tuple[str, str], Identity] = {}
        customers: dict[str, int] = {}
        for who, channel, opened, closed in visits:
            if who not in customers:
                customer = Customer(display_name=who, created_at=START - DAY)
                s.add(customer)
                await s.flush()
                assert customer.id is not None
                customers[who] = customer.id
            if (who, channel) not in identities:
                identity = Identity(
                    customer_id=customers[who], channel=channel,
                    external_id=f"{who}-{channel}", created_at=START - DAY,
                )  # fmt: skip
                s.add(identity)
                await s.flush()
                identities[who, channel] = identity
            identity_id = identities[who, channel].id
            assert identity_id is not None
            await add_conversation(
                s, customers[who], identity_id, channel, opened, closed=closed,
                resolution="self", status="resolved", answered="password-reset",
            )  # fmt: skip


@pytest.mark.parametrize("name", SCENARIOS)
async def test_follow_ups_are_conversations_opened_after_the_close(
    sessions: SessionFactory, name: str
) -> None:
    visits, self_resolved, first_contact = SCENARIOS[name]
    await build(sessions, visits)
    async with sessions() as s:
        report = await summary(s, START, END, NOW)
    assert report.conversations == len(visits)
    assert report.self_resolved == self_resolved
    assert (report.fcr_bot.eligible, report.fcr_bot.first_contact) == (len(visits), first_contact)
