"""Closing the loop: low scores reach the agents in Slack; promoters may get a review link."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlmodel import select

from bot.models import Conversation
from bot.texts import DEFAULT_TEXTS
from channels.slack.render import REOPEN
from tests.channels.slack_desk import ClientMaker, Desk, ServerMaker, make_desk
from tests.conftest import Database
from tests.fakes.clock import ManualClock
from tests.surveys.conftest import (
    hold_the_ticker,
    line_resolves,
    line_says,
    line_taps,
    settle,
    surveys,
    tick,
)

JA = DEFAULT_TEXTS["ja"]


async def send_survey(desk: Desk) -> int:
    desk.clock.advance(minutes=10)
    assert await tick(desk) == 1
    survey_id = (await surveys(desk))[-1].id
    assert survey_id is not None
    return survey_id


async def test_detractor_without_a_case_alerts_the_channel_then_adds_the_comment(
    desk: Desk,
) -> None:
    await line_resolves(desk)
    survey_id = await send_survey(desk)
    posts_before = len(desk.slack.method("chat.postMessage"))
    await line_taps(desk, f"survey:{survey_id}:3")
    (alert,) = desk.slack.method("chat.postMessage")[posts_before:]
    assert "NPS detractor" in alert.text and "3/10" in alert.text
    assert "thread_ts" not in alert.args
    # No case thread to read it in: the alert carries the conversation.
    shown = json.dumps(alert.blocks, ensure_ascii=False)
    assert "*Conversation*" in shown and "*Customer:* パスワード忘れた" in shown
    assert "パスワードをお忘れの方" in shown
    await line_says(desk, "返事が<遅い>です")
    comment = desk.slack.method("chat.postMessage")[-1]
    assert "返事が&lt;遅い&gt;です" in comment.text and "3/10" in comment.text


async def test_unhappy_csat_after_a_case_is_broadcast_in_the_case_thread(desk: Desk) -> None:
    # An earlier NPS makes this survey a CSAT.
    await line_resolves(desk)
    await send_survey(desk)
    desk.clock.advance(days=1)
    await line_says(desk, "オペレーター")
    async with desk.services.sessions() as s:
        conversation = (
            await s.exec(select(Conversation).where(Conversation.status == "waiting"))
        ).one()
    assert conversation.id is not None
    root = desk.root_of(conversation.id)
    assert root.ts is not None
    await desk.reply("UALICE", "確認します", root.ts)
    await settle(desk)
    await desk.services.handoffs.resolve(conversation.id, "UALICE")
    await settle(desk)
    survey_id = await send_survey(desk)
    assert (await surveys(desk))[-1].kind == "csat"
    await line_taps(desk, f"survey:{survey_id}:1")
    alert = desk.slack.thread(root.ts)[-1]
    assert "Unhappy CSAT" in alert.text and "1/5" in alert.text
    assert alert.args.get("reply_broadcast") in (True, "true", "1", 1)


async def test_a_good_score_raises_no_alert(desk: Desk) -> None:
    await line_resolves(desk)
    survey_id = await send_survey(desk)
    posts_before = len(desk.slack.calls)
    await line_taps(desk, f"survey:{survey_id}:8")
    assert desk.slack.calls[posts_before:] == []


@pytest.fixture
async def reviewing_desk(
    aiohttp_client: ClientMaker, aiohttp_server: ServerMaker, database: Database, faq_dir: Path
) -> AsyncIterator[Desk]:
    desk = await make_desk(
        aiohttp_client, aiohttp_server, database, faq_dir, ManualClock(),
        HELPDESK_REVIEW_URL="https://example.com/review",
    )  # fmt: skip
    hold_the_ticker(desk)
    yield desk
    await desk.client.close()


async def test_promoter_gets_the_review_link_when_configured(reviewing_desk: Desk) -> None:
    desk = reviewing_desk
    await line_resolves(desk)
    survey_id = await send_survey(desk)
    await line_taps(desk, f"survey:{survey_id}:10")
    assert desk.line_api.calls[-1].texts == [
        JA["survey_thanks"],
        JA["survey_review"].format(url="https://example.com/review"),
        JA["survey_follow_up"],
    ]


async def test_an_agent_reopens_from_the_alert_and_follows_up_on_line(desk: Desk) -> None:
    await line_resolves(desk)
    survey_id = await send_survey(desk)
    await line_taps(desk, f"survey:{survey_id}:2")
    alert = desk.slack.method("chat.postMessage")[-1]
    (button,) = alert.blocks[-1]["elements"]
    assert button["action_id"] == REOPEN
    conversation_id = int(button["value"])
    roots_before = len(desk.slack.roots())
    pushes_before = len(desk.line_api.pushes())

    r = await desk.click(REOPEN, conversation_id, alert.ts or "", "UBOB")
    assert r.status == 200
    await settle(desk)
    # A new case with its own thread, already Bob's; the customer is told.
    assert len(desk.slack.roots()) == roots_before + 1
    handoff = await desk.handoff(conversation_id)
    assert (handoff.reason, handoff.agent_ref, handoff.closed_at) == (
        "survey_follow_up", "UBOB", None,
    )  # fmt: skip
    (joined,) = desk.line_api.pushes()[pushes_before:]
    assert joined.texts == [JA["agent_joined"].format(agent="ubob")]
    root = desk.root_of(conversation_id)
    assert root.ts is not None
    await desk.reply("UBOB", "ご不便をおかけしました。詳しく伺えますか？", root.ts)
    await settle(desk)
    assert desk.line_api.pushes()[-1].texts[-1] == "ご不便をおかけしました。詳しく伺えますか？"
    # The customer's answer joins the reopened conversation, not a new one.
    await line_says(desk, "配送が遅れました")
    async with desk.services.sessions() as s:
        statuses = (await s.exec(select(Conversation.status))).all()
    assert list(statuses) == ["agent"]

    # A second click (or another agent's) reopens nothing more.
    await desk.click(REOPEN, conversation_id, alert.ts or "", "UALICE")
    (note,) = desk.slack.ephemerals("UALICE")
    assert note.text == "Not reopened: the conversation is already open."
    # Resolving again plans no second survey for the same conversation.
    await desk.services.handoffs.resolve(conversation_id, "UBOB")
    await settle(desk)
    assert [s.conversation_id for s in await surveys(desk)] == [conversation_id]
