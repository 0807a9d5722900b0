"""The Slack desk's and the survey ticker's counters, against the fake Slack and LINE APIs
with requests signed as the platforms sign them, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlmodel import col, func, select

from bot.models import OutboxStatus, SlackPost, SlackPostKind
from tests.channels.slack_desk import ClientMaker, Desk, ServerMaker, make_desk
from tests.conftest import Database
from tests.fakes.clock import ManualClock
from tests.surveys.conftest import hold_the_ticker, line_resolves, tick

LINE_USER = "U206d25c2ea6bd87c17655609a1c37cb8"


@pytest.fixture
async def desk(
    aiohttp_client: ClientMaker, aiohttp_server: ServerMaker, database: Database, faq_dir: Path
) -> AsyncIterator[Desk]:
    desk = await make_desk(aiohttp_client, aiohttp_server, database, faq_dir, ManualClock())
    hold_the_ticker(desk)
    yield desk
    await desk.client.close()


def counted(desk: Desk, name: str, **labels: str) -> float:
    value = desk.services.metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


async def hand_off(desk: Desk) -> None:
    await desk.line.post(desk.line.text("オペレーター", LINE_USER))
    await desk.settle()


async def test_slack_posts_and_event_retries_are_counted(desk: Desk) -> None:
    await hand_off(desk)
    (root,) = desk.slack.roots()
    assert root.ts is not None
    event = desk.reply_event("UALICE", "確認します", root.ts)
    assert (await desk.event(event, event_id="EvMETRICS")).status == 200
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert (await desk.event(event, event_id="EvMETRICS", headers=retry)).status == 200
    await desk.settle()

    assert counted(desk, "helpdesk_webhook_events_received_total", channel="slack") == 2
    assert counted(desk, "helpdesk_webhook_events_duplicate_total", channel="slack") == 1
    assert counted(desk, "helpdesk_handoffs_requested_total", channel="line",
                   reason="customer_request") == 1  # fmt: skip
    async with desk.services.sessions() as s:
        rows = (
            await s.exec(
                select(col(SlackPost.kind), func.count())
                .where(col(SlackPost.status) == OutboxStatus.SENT)
                .group_by(col(SlackPost.kind))
            )
        ).all()
    sent = dict(rows)
    assert sent[SlackPostKind.ROOT] == 1
    for kind in SlackPostKind:
        expected = sent.get(kind, 0)
        assert counted(desk, "helpdesk_slack_posts_total", kind=kind, result="sent") == expected


async def test_a_refused_slack_post_is_counted_as_failed(desk: Desk) -> None:
    desk.slack.fail_next(1, "error", "channel_not_found")
    await hand_off(desk)
    assert counted(desk, "helpdesk_slack_posts_total", kind="root", result="failed") == 1
    assert counted(desk, "helpdesk_slack_posts_total", kind="root", result="sent") == 0


async def test_survey_sends_are_counted_by_kind(desk: Desk) -> None:
    await line_resolves(desk, LINE_USER)
    desk.clock.advance(minutes=10)
    assert await tick(desk) == 1
    assert counted(desk, "helpdesk_survey_sends_total", kind="nps", result="sent") == 1
    assert (
        counted(desk, "helpdesk_inbound_messages_total", channel="line", decision="resolved") == 1
    )
