"""CES surveys end to end: chosen by the kind rules, one tap on LINE and on the web,
the 1-7 scale, the detractor follow-up and alert, and the CES figures in the report."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.models import SurveyKind, SurveyStatus
from bot.texts import DEFAULT_TEXTS
from tests.channels.slack_desk import ClientMaker, Desk, ServerMaker, make_desk
from tests.conftest import Database
from tests.fakes.clock import ManualClock
from tests.surveys.conftest import (
    hold_the_ticker,
    line_resolves,
    line_says,
    line_taps,
    quick_replies,
    surveys,
    tick,
    web_resolves,
)

JA = DEFAULT_TEXTS["ja"]
EN = DEFAULT_TEXTS["en"]
ADMIN = "admin-token-0123456789"


@pytest.fixture
async def ces_desk(
    aiohttp_client: ClientMaker, aiohttp_server: ServerMaker, database: Database, faq_dir: Path
) -> AsyncIterator[Desk]:
    desk = await make_desk(
        aiohttp_client, aiohttp_server, database, faq_dir, ManualClock(),
        HELPDESK_SURVEY_KINDS="nps every 90d agent, ces self, csat",
        HELPDESK_ADMIN_TOKEN=ADMIN,
    )  # fmt: skip
    hold_the_ticker(desk)
    yield desk
    await desk.client.close()


async def test_a_bot_resolved_line_conversation_gets_ces_with_seven_buttons(
    ces_desk: Desk,
) -> None:
    desk = ces_desk
    await line_resolves(desk)
    (planned,) = await surveys(desk)
    # The first rule is for handed-off cases only; a confirmed FAQ answer gets CES.
    assert (planned.kind, planned.status) == (SurveyKind.CES, SurveyStatus.PLANNED)
    pushes_before = len(desk.line_api.pushes())
    desk.clock.advance(minutes=10)
    assert await tick(desk) == 1
    (push,) = desk.line_api.pushes()[pushes_before:]
    (message,) = push.messages
    assert message["text"] == JA["survey_ces_question"]
    assert quick_replies(message) == [(str(n), f"survey:{planned.id}:{n}") for n in range(1, 8)]

    # Outside the scale (not a button): told the scale, the survey stays open.
    await line_taps(desk, f"survey:{planned.id}:0")
    assert desk.line_api.calls[-1].texts == [JA["survey_score_invalid"].format(low=1, high=7)]
    await line_taps(desk, f"survey:{planned.id}:8")
    (still_open,) = await surveys(desk)
    assert (still_open.status, still_open.score) == (SurveyStatus.SENT, None)

    # 2 of 7 is hard: the detractor follow-up, and the agents are told.
    posts_before = len(desk.slack.method("chat.postMessage"))
    await line_taps(desk, f"survey:{planned.id}:2")
    assert desk.line_api.calls[-1].texts == [JA["survey_thanks"], JA["survey_follow_up_detractor"]]
    (alert,) = desk.slack.method("chat.postMessage")[posts_before:]
    assert "Hard CES" in alert.text and "CES 2/7" in alert.text
    await line_says(desk, "手続きが何度もやり直しになって大変でした")
    (answered,) = await surveys(desk)
    assert (answered.status, answered.score) == (SurveyStatus.ANSWERED, 2)
    assert answered.comment == "手続きが何度もやり直しになって大変でした"


async def test_web_ces_is_one_tap_and_reported_by_channel_and_resolution(
    ces_desk: Desk,
) -> None:
    desk = ces_desk
    client: TestClient[Any, Any] = desk.client
    auth, ws = await web_resolves(desk)
    await line_resolves(desk)
    desk.clock.advance(minutes=10)
    assert await tick(desk) == 2
    question = EN["survey_ces_question"]
    async with asyncio.timeout(5):
        while True:
            frame = await ws.receive_json()
            if frame.get("type") == "message" and frame["message"]["text"] == question:
                break
    buttons = frame["message"]["buttons"]
    assert [b["label"] for b in buttons] == [str(n) for n in range(1, 8)]
    r = await client.post(
        "/api/chat/messages", json={"postback": buttons[-1]["postback"]}, headers=auth
    )
    replies = [m["text"] for m in (await r.json())["messages"]]
    assert replies == [EN["survey_thanks"], EN["survey_follow_up"]]
    await ws.close()
    web, line = sorted(await surveys(desk), key=lambda s: s.channel != "web")
    assert (web.status, web.score) == (SurveyStatus.ANSWERED, 7)
    await line_taps(desk, f"survey:{line.id}:4")

    r = await client.get("/api/reports/summary", headers={"Authorization": f"Bearer {ADMIN}"})
    ces = (await r.json())["ces"]
    # 7 and 4: mean 5.5, one of two in 5-7.
    assert (ces["mean"], ces["easy_rate"], ces["responses"]) == (5.5, 50.0, 2)
    assert ces["by_channel"] == {
        "line": {"mean": 4.0, "easy_rate": 0.0, "responses": 1},
        "web": {"mean": 7.0, "easy_rate": 100.0, "responses": 1},
    }
    assert ces["by_resolution"] == {
        "bot": {"mean": 5.5, "easy_rate": 50.0, "responses": 2},
        "agent": {"mean": None, "easy_rate": None, "responses": 0},
    }
