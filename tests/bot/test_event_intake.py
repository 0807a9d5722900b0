"""Storing webhook events: concurrent calls share one transaction, each learns how many
of its own events were new, and a redelivery is stored once."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlmodel import col, select

from bot.clock import utc_now
from bot.inbox import EventIntake
from bot.models import InboundEvent, InboxStatus
from bot.statement_count import StatementCount
from tests.bot.conftest import Harness


def event(key: str) -> dict[str, Any]:
    now = utc_now()
    return {
        "channel": "line", "event_id": key, "sender": f"U{key}", "payload": {"k": key},
        "status": InboxStatus.PENDING, "attempts": 0, "due_at": now, "received_at": now,
    }  # fmt: skip


async def test_concurrent_calls_share_a_transaction_and_count_their_own(
    harness: Harness,
) -> None:
    intake = EventIntake(harness.sessions)
    assert await intake.store([event("a")]) == 1
    calls = [[event("a"), event("b")], [event("c")], [event("d"), event("e")]]
    with StatementCount(harness.db) as count:
        new = await asyncio.gather(*(intake.store(rows) for rows in calls))
    # "a" was stored before: a redelivery, dropped by the unique key
    assert new == [1, 1, 2]
    # the first call flushes alone; the two queued behind it share the next transaction
    assert count.transactions <= 2
    async with harness.sessions() as session:
        keys = (await session.exec(select(InboundEvent.event_id).order_by(col(InboundEvent.id))))
        assert keys.all() == ["a", "b", "c", "d", "e"]


async def test_nothing_to_store_touches_nothing(harness: Harness) -> None:
    with StatementCount(harness.db) as count:
        assert await EventIntake(harness.sessions).store([]) == 0
    assert len(count) == 0
