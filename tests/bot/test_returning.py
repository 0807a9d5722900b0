"""A returning customer is remembered: the bot asks whether a new conversation is about
their earlier case, the answer links the two (or not) for FCR, and agents see the
customer's earlier cases in the Slack thread and in /api/handoffs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from bot.config import Settings, SettingsError
from bot.models import Conversation, Handoff, SurveyKind
from bot.texts import DEFAULT_TEXTS
from surveys.kpis import summary
from tests.channels.slack_desk import ClientMaker, Desk, ServerMaker, make_desk
from tests.conftest import Database
from tests.fakes.clock import ManualClock
from tests.surveys.conftest import (
    LINE_USER,
    hold_the_ticker,
    line_resolves,
    line_says,
    line_taps,
    quick_replies,
    surveys,
    tick,
)

JA = DEFAULT_TEXTS["ja"]
ADMIN = "admin-token-0123456789"


@pytest.fixture
async def desk(
    aiohttp_client: ClientMaker, aiohttp_server: ServerMaker, database: Database, faq_dir: Path
) -> AsyncIterator[Desk]:
    desk = await make_desk(
        aiohttp_client, aiohttp_server, database, faq_dir, ManualClock(),
        HELPDESK_ADMIN_TOKEN=ADMIN, HELPDESK_TIMEZONE="Asia/Tokyo",
    )  # fmt: skip
    hold_the_ticker(desk)
    yield desk
    await desk.client.close()


async def conversations(desk: Desk) -> list[Conversation]:
    async with desk.services.sessions() as s:
        return list((await s.exec(select(Conversation).order_by(col(Conversation.id)))).all())


def question(topic: str = "パスワード忘れた") -> str:
    # The clock starts on 2 Nov 2026, 09:00 UTC: 18:00 that day in Tokyo.
    return JA["returning_question"].format(date="11/2", topic=topic)


async def test_a_returning_customer_is_asked_and_yes_links_the_cases(desk: Desk) -> None:
    await line_resolves(desk)
    desk.clock.advance(days=2)
    await line_says(desk, "こんにちは")
    call = desk.line_api.calls[-1]
    assert call.texts == [JA["greeting"], question()]
    first, second = await conversations(desk)
    assert quick_replies(call.messages[-1]) == [
        (JA["returning_yes"], f"returning:yes:{first.id}"),
        (JA["returning_no"], f"returning:no:{first.id}"),
    ]
    assert second.returning_of == first.id and second.follow_up is None

    await line_taps(desk, f"returning:yes:{first.id}")
    assert desk.line_api.calls[-1].texts == [JA["returning_linked"]]
    _, second = await conversations(desk)
    assert second.follow_up is True
    # Asked once: the next reply without buttons carries no question.
    await line_says(desk, "ありがとう")
    assert desk.line_api.calls[-1].texts == [JA["thanks_reply"]]

    # The earlier case had a follow-up, whatever the FCR window says.
    start = first.opened_at - timedelta(hours=1)
    async with desk.services.sessions() as s:
        narrow = await summary(
            s, start, start + timedelta(hours=2), desk.clock() + timedelta(days=30),
            fcr_window=timedelta(hours=1),
        )  # fmt: skip
    assert (narrow.fcr_bot.eligible, narrow.fcr_bot.first_contact) == (1, 0)


async def test_an_answer_with_buttons_waits_and_the_handoff_asks_then_agents_see_history(
    desk: Desk,
) -> None:
    await line_resolves(desk)
    # The survey's score is part of what agents see.
    desk.clock.advance(minutes=10)
    assert await tick(desk) == 1
    (survey,) = await surveys(desk)
    await line_taps(desk, f"survey:{survey.id}:9")
    desk.clock.advance(days=1)

    await line_says(desk, "パスワード忘れた")
    # An FAQ answer keeps its own "did it help?" buttons; nothing is asked yet.
    call = desk.line_api.calls[-1]
    assert call.texts[-1] == JA["did_it_help"]
    first, second = await conversations(desk)
    assert second.returning_asked_at is None
    calls_before = len(desk.line_api.calls)
    await line_says(desk, "スタッフと話したい")
    calls = desk.line_api.calls[calls_before:]
    said = [t for c in calls for t in c.texts]
    # Asked after the queue notice, so that its quick reply is the last one LINE shows.
    assert said == [
        JA["handoff_requested"], JA["queue_position"].format(position=1), question(),
    ]
    assert quick_replies(calls[-1].messages[-1]) == [
        (JA["returning_yes"], f"returning:yes:{first.id}"),
        (JA["returning_no"], f"returning:no:{first.id}"),
    ]

    root = desk.root_of(second.id or 0)
    text = json.dumps(root.blocks, ensure_ascii=False)
    assert "*Earlier cases*" in text and f"#{first.id}" in text
    assert "パスワード忘れた" in text and "solved by the bot" in text and "NPS 9/10" in text

    r = await desk.client.get("/api/handoffs", headers={"Authorization": f"Bearer {ADMIN}"})
    (case,) = (await r.json())["handoffs"]
    assert case["follows_up"] is None
    (past,) = case["previous_cases"]
    assert past["conversation_id"] == first.id
    assert (past["topic"], past["outcome"]) == ("パスワード忘れた", "self")
    assert past["handed_off"] is False
    assert past["survey"] == {"kind": SurveyKind.NPS, "score": 9}

    # "No" while the case waits: recorded, the customer told, the agents shown the tap.
    assert root.ts is not None
    thread_before = len(desk.slack.thread(root.ts))
    await line_taps(desk, f"returning:no:{first.id}")
    assert desk.line_api.calls[-1].texts == [JA["returning_new"]]
    _, second = await conversations(desk)
    assert second.follow_up is False
    shown = [c.text for c in desk.slack.thread(root.ts)[thread_before:]]
    assert any(JA["returning_no"] in t for t in shown), shown

    # A new matter: the earlier case keeps its first-contact resolution, even though the
    # customer came back within the FCR window.
    start = first.opened_at - timedelta(hours=1)
    async with desk.services.sessions() as s:
        report = await summary(
            s, start, start + timedelta(hours=2), desk.clock() + timedelta(days=30)
        )
    assert (report.fcr_bot.eligible, report.fcr_bot.first_contact) == (1, 1)


async def test_no_question_outside_the_window_without_a_case_or_for_a_stale_button(
    desk: Desk,
) -> None:
    # Small talk only is no case.
    await line_says(desk, "こんにちは")
    await line_says(desk, "解決しました")
    desk.clock.advance(hours=1)
    await line_says(desk, "こんにちは")
    assert desk.line_api.calls[-1].texts == [JA["greeting"]]
    await line_says(desk, "解決しました")

    await line_resolves(desk)
    desk.clock.advance(days=7, seconds=1)
    await line_says(desk, "こんにちは")
    assert desk.line_api.calls[-1].texts == [JA["greeting"]]
    # A Yes for a case this conversation was never asked about changes nothing.
    cases = await conversations(desk)
    await line_taps(desk, f"returning:yes:{cases[-2].id}")
    assert desk.line_api.calls[-1].texts == [JA["unknown_button"]]
    assert (await conversations(desk))[-1].follow_up is None


async def test_another_customers_case_is_not_remembered(desk: Desk) -> None:
    await line_resolves(desk)
    desk.clock.advance(hours=2)
    await line_says(desk, "こんにちは", user="U" + "e" * 32)
    assert desk.line_api.calls[-1].texts == [JA["greeting"]]
    # The first customer is asked, on the same day.
    await line_says(desk, "こんにちは", user=LINE_USER)
    assert desk.line_api.calls[-1].texts == [JA["greeting"], question()]


async def test_an_earlier_case_without_words_is_asked_about_by_its_date(desk: Desk) -> None:
    # A case of one sticker, closed by an agent: no words to quote.
    sticker = {"id": "2", "type": "sticker", "packageId": "1", "stickerId": "1"}
    await desk.line.post(desk.line.event("message", LINE_USER, message=sticker))
    await desk.settle()
    (case,) = await conversations(desk)
    async with desk.services.sessions() as s, s.begin():
        row = await s.get(Conversation, case.id)
        assert row is not None
        row.status, row.closed_at = "resolved", desk.clock()
        s.add(Handoff(conversation_id=case.id or 0, reason="customer_request",
                      requested_at=desk.clock(), closed_at=desk.clock()))  # fmt: skip
    desk.clock.advance(hours=3)
    await line_says(desk, "こんにちは")
    assert desk.line_api.calls[-1].texts == [
        JA["greeting"], JA["returning_question_no_topic"].format(date="11/2"),
    ]


def test_the_window_setting() -> None:
    assert Settings.from_env({}).returning_days == 7
    assert Settings.from_env({"HELPDESK_RETURNING_DAYS": "0"}).returning_days == 0
    with pytest.raises(SettingsError, match="HELPDESK_RETURNING_DAYS"):
        Settings.from_env({"HELPDESK_RETURNING_DAYS": "-1"})
