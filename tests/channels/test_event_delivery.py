"""Every domain event reaches every subscriber exactly once in effect, end to end: a
LINE customer's handoff, a message during it, a claim and a resolution, with one
subscriber failing once on a transient database error, or the process dying between
the commit and the delivery (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import col, select

import channels.slack.desk
import handoff.notices
import surveys.planner
from bot.models import (
    Conversation,
    EventDelivery,
    EventDeliveryStatus,
    InboundEvent,
    Outbox,
    SlackPost,
    Survey,
)
from bot.texts import DEFAULT_TEXTS
from channels.slack.render import CLAIM, RESOLVE
from tests.channels.slack_desk import ClientMaker, Desk, ServerMaker, make_desk
from tests.conftest import Database
from tests.fakes.clock import ManualClock
from tests.fakes.settling import unsettled

LINE_USER = "U206d25c2ea6bd87c17655609a1c37cb8"
QUEUE_NOTICE = DEFAULT_TEXTS["ja"]["queue_position"].format(position=1)
# Where each subscriber does its work: the function it calls inside the delivery.
WORK_OF = {
    "handoff_notice": (handoff.notices, "add_message"),
    "slack_desk": (channels.slack.desk, "add_post"),
    "survey_planner": (surveys.planner, "gather_facts"),
}


def fail_first_call(target: Callable[..., Any], calls: list[int]) -> Callable[..., Any]:
    """`target`, except that its first call raises what a dropped connection raises."""

    async def flaky(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("SELECT 1", {}, ConnectionResetError("connection reset"))
        return await target(*args, **kwargs)

    return flaky


async def step(desk: Desk) -> None:
    """Let the app finish what is due, then pass a failed delivery's first backoff."""
    await desk.settle()
    desk.clock.advance(seconds=2)
    await desk.settle()


async def deliveries(desk: Desk) -> list[EventDelivery]:
    async with desk.services.sessions() as s:
        return list((await s.exec(select(EventDelivery).order_by(col(EventDelivery.id)))).all())


async def only_conversation(desk: Desk) -> int:
    async with desk.services.sessions() as s:
        conversation = (await s.exec(select(Conversation))).one()
    assert conversation.id is not None
    return conversation.id


async def surveys_of(desk: Desk, conversation_id: int) -> int:
    async with desk.services.sessions() as s:
        query = select(Survey).where(Survey.conversation_id == conversation_id)
        return len((await s.exec(query)).all())


@pytest.mark.parametrize("failing", [None, *WORK_OF])
async def test_each_event_is_handled_once_when_a_subscriber_fails_once(
    aiohttp_client: ClientMaker,
    aiohttp_server: ServerMaker,
    database: Database,
    faq_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    failing: str | None,
) -> None:
    calls: list[int] = []
    if failing is not None:
        module, name = WORK_OF[failing]
        monkeypatch.setattr(module, name, fail_first_call(getattr(module, name), calls))
    desk = await make_desk(aiohttp_client, aiohttp_server, database, faq_dir, ManualClock())
    try:
        desk.line_api.profiles[LINE_USER] = "山田 花子"
        await desk.line.post(desk.line.text("パスワード忘れた"))
        await step(desk)
        await desk.line.post(desk.line.text("オペレーター"))
        await step(desk)
        conversation_id = await only_conversation(desk)
        root = desk.root_of(conversation_id)  # exactly one case opened
        assert root.ts is not None
        assert desk.line_api.all_texts().count(QUEUE_NOTICE) == 1

        await desk.line.post(desk.line.text("まだですか"))
        await step(desk)
        said = [c.text for c in desk.slack.thread(root.ts) if "まだですか" in c.text]
        assert said == ["*山田 花子:* まだですか"]

        assert (await desk.click(CLAIM, conversation_id, root.ts, "UALICE")).status == 200
        await step(desk)
        claimed = [c for c in desk.slack.updates(root.ts) if "Claimed* by" in c.all_text()]
        assert len(claimed) == 1

        assert (await desk.click(RESOLVE, conversation_id, root.ts, "UALICE")).status == 200
        await step(desk)
        assert await surveys_of(desk, conversation_id) == 1
        assert len(desk.slack.roots()) == 1

        rows = await deliveries(desk)
        assert {r.subscriber for r in rows} == set(WORK_OF)
        assert all(r.status == EventDeliveryStatus.DONE for r in rows)
        retried = [r for r in rows if r.attempts > 1]
        if failing is None:
            assert retried == [] and calls == []
        else:
            # The failed delivery rolled back and came back once; nothing else repeated.
            # Its row counts 2 attempts, or 1 when the worker claimed the row in the moment
            # between the failed delivery's rollback and its bookkeeping (that update then
            # matches nothing): either way it was done once, by the retry.
            assert [r.subscriber for r in retried] in ([failing], [])
            assert all(r.attempts <= 2 for r in rows if r.subscriber == failing)
            assert all(r.attempts == 1 for r in rows if r.subscriber != failing)
            if retried:
                assert "OperationalError" in (retried[0].last_error or "")
    finally:
        await desk.client.close()


async def settle_all_but_events(desk: Desk) -> None:
    """`Desk.settle` for a process that dies before it delivers any event."""
    services = desk.services
    assert services.slack is not None
    models = ((Outbox, "conversation_id"), (SlackPost, "conversation_id"),
              (InboundEvent, "sender"))  # fmt: skip
    async with asyncio.timeout(15):
        while True:
            busy = await services.inbox.process_once()
            busy += await services.outbox.dispatch_once()
            busy += await services.slack.poster.dispatch_once()
            if not busy and not await unsettled(services.sessions, models, desk.clock()):
                return
            await asyncio.sleep(0.01)


async def test_events_committed_before_a_crash_are_delivered_by_the_next_process(
    aiohttp_client: ClientMaker,
    aiohttp_server: ServerMaker,
    database: Database,
    faq_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = await make_desk(aiohttp_client, aiohttp_server, database, faq_dir, ManualClock())
    # Dies between each commit and its delivery: no delivery after commit, no worker.
    first.services.events.stop()

    async def crashed(rows: Any) -> None:
        return None

    monkeypatch.setattr(first.services.events, "deliver", crashed)
    first.line_api.profiles[LINE_USER] = "山田 花子"
    await first.line.post(first.line.text("パスワード忘れた"))
    await settle_all_but_events(first)
    await first.line.post(first.line.text("オペレーター"))
    await settle_all_but_events(first)
    assert first.slack.roots() == []
    owed = await deliveries(first)
    assert owed and all(r.status == EventDeliveryStatus.PENDING for r in owed)
    await first.client.close()

    second = await make_desk(aiohttp_client, aiohttp_server, database, faq_dir, ManualClock())
    try:
        await second.settle()
        conversation_id = await only_conversation(second)
        assert second.root_of(conversation_id).ts is not None
        assert second.line_api.all_texts().count(QUEUE_NOTICE) == 1
        await second.settle()
        assert len(second.slack.roots()) == 1
        rows = await deliveries(second)
        assert [r.id for r in rows] == [r.id for r in owed]
        assert all(r.status == EventDeliveryStatus.DONE and r.attempts == 1 for r in rows)
    finally:
        await second.client.close()
