"""KPI figures on a hand-built set of conversations, expected values worked out by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.db import SessionFactory, make_engine, make_session_factory, upgrade
from bot.models import (
    Customer,
    Handoff,
    Identity,
    Message,
    Survey,
    UnansweredQuestion,
)
from surveys.kpis import csat, nps, quantile, summary
from tests.conftest import Database
from tests.surveys.history import add_conversation

NOW = datetime(2026, 11, 20, tzinfo=UTC)
START, END = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 8, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def test_nps_example_from_the_issue() -> None:
    scores = [10] * 21 + [0] * 17 + [7] * 5  # 43 responses
    assert nps(scores) == 9.3
    assert nps([]) is None


def test_csat_counts_fours_and_fives() -> None:
    assert csat([5, 4, 3, 2, 1, 5, 5, 4]) == 62.5
    assert csat([]) is None


def test_quantile_interpolates() -> None:
    assert quantile([300, 1200], 0.5) == 750
    assert quantile([300, 1200], 0.9) == pytest.approx(1110)
    assert quantile([], 0.5) is None


@pytest.fixture
async def sessions(database: Database) -> AsyncIterator[SessionFactory]:
    engine = make_engine(database.url, database.schema)
    await upgrade(engine)
    factory = make_session_factory(engine)
    await build_history(factory)
    yield factory
    await engine.dispose()


async def build_history(sessions: SessionFactory) -> None:
    async with sessions() as s, s.begin():
        customers: dict[str, int] = {}
        for name in "ABCDE":
            customer = Customer(display_name=name, created_at=at(1, 0, month=10))
            s.add(customer)
            await s.flush()
            assert customer.id is not None
            customers[name] = customer.id
            for channel in ("web", "line"):
                ref, when = f"{name}-{channel}", at(1, 0, month=10)
                s.add(Identity(customer_id=customer.id, channel=channel, external_id=ref,
                               created_at=when))  # fmt: skip
        await s.flush()

        async def conversation(
            who: str, channel: str, opened: datetime, *, closed: datetime | None = None,
            resolution: str | None = None, status: str = "bot", answered: str | None = None,
        ) -> int:  # fmt: skip
            identity = (await s.exec(select(Identity).where(
                Identity.channel == channel, Identity.external_id == f"{who}-{channel}"
            ))).first()  # fmt: skip
            assert identity is not None
            assert identity.id is not None
            return await add_conversation(
                s, customers[who], identity.id, channel, opened, closed=closed,
                resolution=resolution, status=status, answered=answered,
            )  # fmt: skip

        # 1: A answered and self-resolved; A never comes back.
        c1 = await conversation("A", "web", at(1, 10), closed=at(1, 10, 5), resolution="self",
                           answered="password-reset")  # fmt: skip
        # 2: B answered and resolved, but B comes back two days later (conversation 3).
        c2 = await conversation("B", "line", at(2, 9), closed=at(2, 9, 10), resolution="self",
                                answered="pricing")  # fmt: skip
        s.add(Message(conversation_id=c2, role="customer", text="no",
                      postback="helpful:no:pricing", created_at=at(2, 9, 5)))  # fmt: skip
        # 3: B on the web, handed off, first response after 5 minutes, resolved by an agent.
        c3 = await conversation("B", "web", at(4, 9), closed=at(4, 9, 30), resolution="agent")
        s.add(Handoff(conversation_id=c3, reason="customer_request", requested_at=at(4, 9, 1),
                      first_response_at=at(4, 9, 6), closed_at=at(4, 9, 30)))  # fmt: skip
        # 4: C on LINE, handed off, answered after 20 minutes, still with the agent.
        c4 = await conversation("C", "line", at(5, 12), status="agent")
        s.add(Handoff(conversation_id=c4, reason="no_match", requested_at=at(5, 12),
                      first_response_at=at(5, 12, 20)))  # fmt: skip
        question = Message(conversation_id=c4, role="customer", text="駐車場はありますか",
                           created_at=at(5, 12))  # fmt: skip
        s.add(question)
        await s.flush()
        assert question.id is not None
        s.add(UnansweredQuestion(conversation_id=c4, message_id=question.id, text=question.text,
                                 locale="ja", reason="no_match", candidates=[],
                                 created_at=at(5, 12)))  # fmt: skip
        # 5: D only said hello; still open with the bot.
        await conversation("D", "web", at(6, 8))
        # 6: E late on 7 November (UTC), self-resolved; E's next visit (conversation 7,
        #    outside the period) comes exactly 7 days after: the window's end is exclusive.
        c6 = await conversation("E", "web", at(7, 23), closed=at(7, 23, 30), resolution="self",
                                answered="password-reset")  # fmt: skip
        await conversation("E", "web", at(14, 23, 30), closed=at(15, 0), resolution="self")
        # Surveys: A's CSAT 5, B's NPS 3 (a detractor), E's CSAT sent and never answered.
        for conversation_id, who, kind, score in (
            (c1, "A", "csat", 5), (c3, "B", "nps", 3), (c6, "E", "csat", None),
        ):  # fmt: skip
            s.add(Survey(conversation_id=conversation_id, customer_id=customers[who],
                         channel="web", kind=kind, status="answered" if score else "expired",
                         due_at=at(9, 0), sent_at=at(9, 0), score=score,
                         created_at=at(9, 0)))  # fmt: skip
        # Before the period: not counted.
        await conversation("A", "web", at(31, 10, month=10), closed=at(31, 11, month=10),
                           resolution="self")  # fmt: skip


async def test_summary_of_the_hand_built_period(sessions: SessionFactory) -> None:
    async with sessions() as s:
        report = await summary(s, START, END, NOW, timezone=ZoneInfo("Asia/Tokyo"))
    assert report.conversations == 6
    assert (report.self_resolved, report.self_resolution_rate) == (2, 33.3)  # 1 and 6
    assert (report.contained, report.containment_rate) == (4, 66.7)  # 1, 2, 5, 6
    assert (report.handed_off, report.handoff_rate) == (2, 33.3)  # 3 and 4
    assert report.containment_rate + report.handoff_rate == 100.0
    # Bot-resolved with a closed window: 1, 2, 6; conversation 2 was followed up.
    assert (report.fcr_bot.eligible, report.fcr_bot.first_contact) == (3, 2)
    assert report.fcr_bot.rate == 66.7
    assert (report.fcr_agent.eligible, report.fcr_agent.first_contact, report.fcr_agent.rate) == (
        1, 1, 100.0,
    )  # fmt: skip
    # First responses 300 s and 1,200 s; resolutions 300, 600, 1,800, 1,800 s.
    assert (report.first_response.count, report.first_response.median) == (2, 750)
    assert report.first_response.p90 == pytest.approx(1110)
    assert (report.resolution.count, report.resolution.median, report.resolution.p90) == (
        4, 1200, 1800,
    )  # fmt: skip
    # Conversation 6 opened at 23:00 UTC, which is 8 November in Tokyo.
    assert report.volume == {
        "2026-11-01": {"web": 1}, "2026-11-02": {"line": 1}, "2026-11-04": {"web": 1},
        "2026-11-05": {"line": 1}, "2026-11-06": {"web": 1}, "2026-11-08": {"web": 1},
    }  # fmt: skip
    assert report.faq_hits == [("password-reset", 2), ("pricing", 1)]
    assert report.faq_not_helpful == [("pricing", 1)]
    assert report.unanswered == [("駐車場はありますか", 1)]
    assert (report.csat, report.nps) == (100.0, -100.0)
    assert (report.surveys_sent, report.survey_responses, report.survey_response_rate) == (
        3, 2, 66.7,
    )  # fmt: skip


async def test_fcr_window_not_yet_closed_is_not_counted(sessions: SessionFactory) -> None:
    async with sessions() as s:
        report = await summary(s, START, END, now=at(12, 0))
    # At noon on 12 November only conversation 1's window (to 8 Nov 10:05) and
    # conversation 2's (to 9 Nov 09:10) have closed among the bot-resolved ones.
    assert (report.fcr_bot.eligible, report.fcr_bot.first_contact) == (2, 1)


async def test_summary_for_one_channel(sessions: SessionFactory) -> None:
    async with sessions() as s:
        report = await summary(s, START, END, NOW, channel="line")
    assert report.conversations == 2  # 2 and 4
    assert (report.self_resolved, report.handed_off) == (0, 1)
    assert report.fcr_bot.first_contact == 0  # B came back, on another channel
