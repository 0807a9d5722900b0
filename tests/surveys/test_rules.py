"""Which survey, if any: throttling and the NPS interval across linked channels, and the
rules that skip a survey."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import update
from sqlmodel import select

from bot.models import Conversation, Identity, SurveyKind, SurveyStatus
from tests.channels.slack_desk import Desk
from tests.surveys.conftest import line_resolves, line_says, settle, surveys, tick


async def web_session(client: TestClient[Any, Any]) -> dict[str, str]:
    data = await (await client.post("/api/chat/sessions", json={"locale": "en"})).json()
    return {"Authorization": f"Bearer {data['token']}"}


async def web_resolves(client: TestClient[Any, Any], auth: dict[str, str]) -> None:
    r = await client.post(
        "/api/chat/messages", json={"text": "I forgot my password"}, headers=auth
    )
    assert r.status == 200, await r.text()
    r = await client.post(
        "/api/chat/messages", json={"postback": "helpful:yes:password-reset-en"}, headers=auth
    )
    assert r.status == 200, await r.text()


async def pass_days(desk: Desk, auth: dict[str, str], days: int) -> None:
    """Move the clock `days` on while the customer visits the chat every few weeks, as
    a returning customer's browser does (an unused chat session expires after 30 days)."""
    while days > 0:
        step = min(days, 20)
        desk.clock.advance(days=step)
        days -= step
        assert (await desk.client.get("/api/chat/messages", headers=auth)).status == 200


async def test_throttle_and_nps_interval_count_linked_channels_together(desk: Desk) -> None:
    await line_resolves(desk)
    desk.clock.advance(minutes=10)
    assert await tick(desk) == 1
    client = desk.client
    auth = await web_session(client)
    code = (await (await client.post("/api/chat/link-code", headers=auth)).json())["code"]
    await line_says(desk, code)  # the LINE identity joins the web customer

    desk.clock.advance(hours=1)
    await web_resolves(client, auth)
    first, second = await surveys(desk)
    assert (second.status, second.skip_reason) == (SurveyStatus.SKIPPED, "surveyed_recently")

    desk.clock.advance(hours=24)
    await web_resolves(client, auth)
    third = (await surveys(desk))[2]
    # NPS was asked (on LINE) a day ago: a CSAT this time.
    assert (third.status, third.kind) == (SurveyStatus.PLANNED, SurveyKind.CSAT)
    desk.clock.advance(minutes=10)
    assert await tick(desk) == 1

    await pass_days(desk, auth, 90)
    await web_resolves(client, auth)
    fourth = (await surveys(desk))[3]
    assert (fourth.status, fourth.kind) == (SurveyStatus.PLANNED, SurveyKind.NPS)
    assert first.kind == SurveyKind.NPS


async def test_small_talk_only_gets_no_survey(desk: Desk) -> None:
    await line_says(desk, "こんにちは")
    await line_says(desk, "解決しました")
    (survey,) = await surveys(desk)
    assert (survey.status, survey.skip_reason) == (SurveyStatus.SKIPPED, "small_talk_only")


async def test_handoff_resolved_without_an_agent_reply_gets_no_survey(desk: Desk) -> None:
    await line_says(desk, "オペレーター")
    async with desk.services.sessions() as s:
        conversation = (await s.exec(select(Conversation))).one()
    assert conversation.id is not None
    await desk.services.handoffs.resolve(conversation.id, "UALICE")
    await settle(desk)
    (survey,) = await surveys(desk)
    assert (survey.status, survey.skip_reason) == (SurveyStatus.SKIPPED, "unanswered_handoff")


async def test_blocked_identity_gets_nothing(desk: Desk) -> None:
    await line_resolves(desk)
    # The customer blocks the bot before the survey is due.
    async with desk.services.sessions() as s, s.begin():
        await s.exec(update(Identity).values(blocked_at=desk.clock()))
    pushes = len(desk.line_api.pushes())
    desk.clock.advance(minutes=10)
    await tick(desk)
    (survey,) = await surveys(desk)
    assert (survey.status, survey.skip_reason) == (SurveyStatus.SKIPPED, "blocked_identity")
    assert len(desk.line_api.pushes()) == pushes
