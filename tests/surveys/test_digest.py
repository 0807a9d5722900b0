"""The daily Slack digest: yesterday's KPIs with the change from a week before, posted once
whoever fires it, and caught up by a server that was down at digest time."""

from __future__ import annotations

import asyncio
import inspect
import logging
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.db import SessionFactory
from bot.models import (
    Conversation,
    Customer,
    Handoff,
    Identity,
    Message,
    SlackPost,
    Survey,
    UnansweredQuestion,
)
from surveys.digest import DailyDigest, DigestSchedule
from tests.channels.slack_desk import ClientMaker, Desk, ServerMaker, make_desk
from tests.conftest import Database
from tests.fakes.clock import ManualClock
from tests.surveys.history import add_conversation

TOKYO = ZoneInfo("Asia/Tokyo")


def jst(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TOKYO).astimezone(UTC)


async def digest_desk(
    aiohttp_client: ClientMaker,
    aiohttp_server: ServerMaker,
    database: Database,
    faq_dir: Path,
    now: datetime,
) -> Desk:
    desk = await make_desk(
        aiohttp_client, aiohttp_server, database, faq_dir, ManualClock(now),
        HELPDESK_DIGEST_TIME="09:00", HELPDESK_TIMEZONE="Asia/Tokyo",
    )  # fmt: skip
    # The tests fire the digest themselves; the real-time scheduler must stay out.
    desk.services.scheduler.pause()
    return desk


def digest_of(desk: Desk) -> DailyDigest:
    digest = desk.services.timers.digest
    assert digest is not None
    return digest


async def digest_posts(desk: Desk) -> list[str]:
    await desk.settle()
    return [c.text for c in desk.slack.method("chat.postMessage") if "digest" in c.text]


async def test_a_server_started_after_digest_time_posts_yesterdays_digest_once(
    aiohttp_client: ClientMaker, aiohttp_server: ServerMaker, database: Database, faq_dir: Path
) -> None:
    # Monday 2 November, 18:00 in Tokyo: the 09:00 digest of Sunday was missed.
    desk = await digest_desk(aiohttp_client, aiohttp_server, database, faq_dir, jst(2, 18))
    (text,) = await digest_posts(desk)
    assert text.splitlines()[0] == (
        ":bar_chart: *Daily support digest for Sun 01 Nov 2026* (changes vs Sun 25 Oct 2026)"
    )
    assert "• Conversations: *0* (+0)" in text
    # The cron job firing later that day, a catch-up check, or a second replica add nothing.
    assert await digest_of(desk).post_yesterday() is False
    assert await digest_of(desk).catch_up() is False
    assert len(await digest_posts(desk)) == 1
    await desk.client.close()


async def test_before_digest_time_nothing_is_caught_up_and_after_it_is(
    aiohttp_client: ClientMaker, aiohttp_server: ServerMaker, database: Database, faq_dir: Path
) -> None:
    desk = await digest_desk(aiohttp_client, aiohttp_server, database, faq_dir, jst(2, 8, 59))
    assert await digest_posts(desk) == []
    # Yesterday in Tokyo (1 November), though in UTC it is still 1 November today.
    assert digest_of(desk).yesterday() == date(2026, 11, 1)
    assert await digest_of(desk).catch_up() is False
    # The periodic check after 09:00 posts it, when the cron run did not.
    desk.clock.advance(minutes=2)
    assert await digest_of(desk).catch_up() is True
    assert len(await digest_posts(desk)) == 1
    await desk.client.close()


async def test_the_cron_job_runs_at_the_configured_local_time(
    aiohttp_client: ClientMaker, aiohttp_server: ServerMaker, database: Database, faq_dir: Path
) -> None:
    desk = await digest_desk(aiohttp_client, aiohttp_server, database, faq_dir, jst(2, 8))
    job = desk.services.scheduler.get_job("daily_digest")
    assert job is not None and inspect.unwrap(job.func) == digest_of(desk).post_yesterday
    fields = {f.name: str(f) for f in job.trigger.fields}
    assert (fields["hour"], fields["minute"]) == ("9", "0")
    assert str(job.trigger.timezone) == "Asia/Tokyo"
    await desk.client.close()


async def test_replicas_firing_together_queue_one_digest(
    aiohttp_client: ClientMaker, aiohttp_server: ServerMaker, database: Database, faq_dir: Path
) -> None:
    desk = await digest_desk(aiohttp_client, aiohttp_server, database, faq_dir, jst(3, 8))
    desk.clock.advance(hours=1)
    schedule = DigestSchedule(time(9, 0), TOKYO)
    replicas = [
        DailyDigest(desk.services.sessions, schedule, desk.clock, logging.getLogger("test"))
        for _ in range(3)
    ]
    queued = await asyncio.gather(*(r.post_yesterday() for r in replicas))
    assert sorted(queued) == [False, False, True]
    async with desk.services.sessions() as s:
        keys = (await s.exec(select(SlackPost.dedupe_key))).all()
    assert keys == ["digest:2026-11-02"]
    assert len(await digest_posts(desk)) == 1
    await desk.client.close()


async def test_digest_figures_and_changes(
    aiohttp_client: ClientMaker, aiohttp_server: ServerMaker, database: Database, faq_dir: Path
) -> None:
    desk = await digest_desk(aiohttp_client, aiohttp_server, database, faq_dir, jst(11, 8))
    await build_history(desk.services.sessions)
    desk.clock.now = jst(11, 9)
    assert await digest_of(desk).post_yesterday() is True
    (text,) = await digest_posts(desk)
    # Worked out by hand from `build_history`:
    assert text.splitlines() == [
        ":bar_chart: *Daily support digest for Tue 10 Nov 2026* (changes vs Tue 03 Nov 2026)",
        # 4 conversations against 2.
        "• Conversations: *4* (+2, +100%)",
        # c1 and c4 self-resolved, of 4; e1 of 2.
        "• Self-resolution: *50.0%* (+0.0 pts)",
        # c2 of 4 against e2 of 2.
        "• Handoff rate: *25.0%* (-25.0 pts)",
        # c2: 4 minutes; e2: 10 minutes.
        "• First response: median *4.0 min*, p90 4.0 min (n=1) (median -6.0 min)",
        # 120, 300, 1800 s: median 300, p90 300 + 0.8 x 1500 = 1500; before: 60 and 1200.
        "• Resolution time: median *5.0 min*, p90 25.0 min (n=3) (median -5.5 min)",
        # Scores 5 and 2 against 4.
        "• CSAT: *50.0%* (n=2) (-50.0 pts)",
        "• NPS: *—* (n=0) (—)",
        "• CES (1–7): *—*, — easy (n=0) (—)",
        # 2 answers of 3 sent, against 1 of 1.
        "• Survey response rate: *66.7%* (-33.3 pts)",
        # 3 Nov: e1 (bot) had no follow-up; e2 (agent) did, by B on 10 Nov; 27 Oct: none.
        "• FCR, bot-resolved (Tue 03 Nov 2026, window closed): *100.0%* (n=1) (—)",
        "• FCR, agent-resolved (Tue 03 Nov 2026, window closed): *0.0%* (n=1) (—)",
        "Top unanswered questions:",
        "• 1× &lt;返品&gt;したい",
    ]
    await desk.client.close()


async def build_history(sessions: SessionFactory) -> None:
    async with sessions() as s, s.begin():

        async def conversation(
            who: str, opened: datetime, closed: datetime | None, answered: bool
        ) -> int:
            customer = (await s.exec(select(Customer).where(Customer.display_name == who))).first()
            if customer is None:
                customer = Customer(display_name=who, created_at=jst(1, 0, month=10))
                s.add(customer)
                await s.flush()
                s.add(Identity(customer_id=customer.id, channel="web", external_id=who,
                               created_at=jst(1, 0, month=10)))  # fmt: skip
                await s.flush()
            identity = (await s.exec(select(Identity).where(Identity.external_id == who))).one()
            assert customer.id is not None and identity.id is not None
            return await add_conversation(
                s, customer.id, identity.id, "web", opened, closed=closed,
                resolution=("self" if answered else "agent") if closed else None,
                status="bot", answered="pricing" if answered else None,
            )  # fmt: skip

        def handoff(cid: int, requested: datetime, first_response: datetime) -> None:
            s.add(Handoff(conversation_id=cid, reason="customer_request", requested_at=requested,
                          first_response_at=first_response))  # fmt: skip

        async def survey(cid: int, sent: datetime, score: int | None) -> None:
            conv = await s.get(Conversation, cid)
            assert conv is not None
            s.add(Survey(conversation_id=cid, customer_id=conv.customer_id, channel="web",
                         kind="csat",
                         status="answered" if score else "sent", due_at=sent, sent_at=sent,
                         score=score, created_at=sent))  # fmt: skip

        # Tuesday 3 November (the week before, and the FCR cohort).
        e1 = await conversation("E", jst(3, 10), jst(3, 10, 1), answered=True)
        await survey(e1, jst(3, 10, 11), 4)
        e2 = await conversation("B", jst(3, 10), jst(3, 10, 20), answered=False)
        handoff(e2, jst(3, 10), jst(3, 10, 10))
        # Tuesday 10 November.
        c1 = await conversation("A", jst(10, 10), jst(10, 10, 5), answered=True)
        await survey(c1, jst(10, 10, 15), 5)
        # B is back within 7 days of e2: e2 is no first-contact resolution.
        c2 = await conversation("B", jst(10, 9), jst(10, 9, 30), answered=False)
        handoff(c2, jst(10, 9, 1), jst(10, 9, 5))
        await survey(c2, jst(10, 9, 40), 2)
        c3 = await conversation("C", jst(10, 12), None, answered=False)
        question = Message(conversation_id=c3, role="customer", text="<返品>したい",
                           created_at=jst(10, 12))  # fmt: skip
        s.add(question)
        await s.flush()
        assert question.id is not None
        s.add(UnansweredQuestion(
            conversation_id=c3, message_id=question.id, text="<返品>したい", locale="ja",
            reason="handoff", created_at=jst(10, 12),
        ))  # fmt: skip
        c4 = await conversation("D", jst(10, 13), jst(10, 13, 2), answered=True)
        await survey(c4, jst(10, 13, 12), None)
        # Outside both days: counted nowhere.
        await conversation("F", jst(11, 0, 30), None, answered=False)
