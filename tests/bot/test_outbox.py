"""Outbox delivery: retries with backoff, order per conversation, give-up, one sender."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest
from sqlmodel import col, select

from bot.claims import claim_due
from bot.models import Outbox, OutboxStatus
from bot.outbox import MAX_ATTEMPTS, OutboxDispatcher
from bot.ports import PermanentSendError, TemporarySendError
from tests.bot.conftest import Harness
from tests.fakes.memory_channel import MemoryChannel


async def outbox_rows(h: Harness) -> list[Outbox]:
    async with h.sessions() as s:
        return list((await s.exec(select(Outbox).order_by(col(Outbox.id)))).all())


async def test_temporary_failure_is_retried_after_backoff_and_order_is_kept(
    harness: Harness,
) -> None:
    result = await harness.say("パスワード忘れた")
    later = await harness.say("料金プラン")
    harness.channel.failures = [TemporarySendError("503 from platform")]
    assert await harness.outbox.dispatch_once() == 1
    assert harness.channel.sent == []
    rows = await outbox_rows(harness)
    # The answer and "did this help?" of one turn travel together, and fail together.
    assert [(r.status, r.attempts) for r in rows[:2]] == [(OutboxStatus.PENDING, 1)] * 2
    assert rows[0].last_error == "503 from platform"
    # Later messages wait behind them: nothing is claimable until the backoff is over.
    assert await harness.outbox.dispatch_once() == 0
    harness.clock.advance(seconds=1)
    while await harness.outbox.dispatch_once():
        pass
    expected = [m.text for m in result.replies + later.replies]
    assert harness.channel.texts() == expected
    assert all(r.status == OutboxStatus.SENT for r in await outbox_rows(harness))


async def test_retry_after_is_respected(harness: Harness) -> None:
    await harness.say("パスワード忘れた")
    harness.channel.failures = [TemporarySendError("429", retry_after=30)]
    await harness.outbox.dispatch_once()
    harness.clock.advance(seconds=29)
    assert await harness.outbox.dispatch_once() == 0
    harness.clock.advance(seconds=1)
    assert await harness.outbox.dispatch_once() == 1


async def test_permanent_failure_is_recorded_and_not_retried(harness: Harness) -> None:
    await harness.say("パスワード忘れた")
    harness.channel.failures = [PermanentSendError("400 invalid recipient")]
    await harness.outbox.dispatch_once()
    first, second = await outbox_rows(harness)
    assert first.status == second.status == OutboxStatus.FAILED
    assert first.last_error == "400 invalid recipient"
    harness.clock.advance(hours=3)
    assert await harness.outbox.dispatch_once() == 0  # never retried
    later = await harness.say("料金プラン")
    await harness.outbox.dispatch_once()  # and later messages are not held back by it
    assert harness.channel.texts() == [m.text for m in later.replies]


async def test_gives_up_after_max_attempts(harness: Harness) -> None:
    await harness.say("パスワード忘れた")
    harness.channel.failures = [TemporarySendError("down")] * MAX_ATTEMPTS
    for _ in range(MAX_ATTEMPTS):
        harness.clock.advance(hours=1)
        await harness.outbox.dispatch_once()
    first = (await outbox_rows(harness))[0]
    assert first.status == OutboxStatus.FAILED and first.attempts == MAX_ATTEMPTS


async def test_a_crashed_claim_is_picked_up_after_the_lease(harness: Harness) -> None:
    await harness.say("パスワード忘れた")
    # Claim as a process that dies before sending: rows stay 'sending' (the head, and the
    # follower it took along).
    claimed = await harness.outbox._claim(harness.clock())
    assert claimed
    assert await harness.outbox.dispatch_once() == 0
    harness.clock.advance(seconds=61)
    assert await harness.outbox.dispatch_once() == 1
    assert len(harness.channel.sent) == 2


async def test_two_dispatchers_send_each_message_once(harness: Harness) -> None:
    for i in range(20):
        await harness.say("パスワード忘れた", who=f"c{i}")
    other_channel = MemoryChannel()
    other = OutboxDispatcher(
        harness.sessions, {"memory": other_channel}, harness.clock, logging.getLogger("t")
    )

    async def drain(d: OutboxDispatcher) -> None:
        # Yield between batches so the two dispatchers interleave.
        while await d.dispatch_once():  # noqa: ASYNC110
            await asyncio.sleep(0)

    await asyncio.gather(drain(harness.outbox), drain(other))
    sent = [m.message_id for _, m in harness.channel.sent + other_channel.sent]
    assert harness.channel.calls + other_channel.calls == 20  # one call per turn
    assert len(sent) == 40 and len(set(sent)) == 40
    assert all(r.status == OutboxStatus.SENT for r in await outbox_rows(harness))


async def test_blocked_recipient_gets_nothing(harness: Harness) -> None:
    from bot.models import Identity

    await harness.say("パスワード忘れた")
    async with harness.sessions() as s, s.begin():
        identity = (await s.exec(select(Identity))).one()
        identity.blocked_at = harness.clock()
    await harness.outbox.dispatch_once()
    assert harness.channel.calls == 0
    rows = await outbox_rows(harness)
    assert {r.status for r in rows} == {OutboxStatus.FAILED}
    assert rows[0].last_error == "the customer has blocked this channel"


async def test_a_second_claimer_takes_other_rows_without_waiting(harness: Harness) -> None:
    # What lets replicas share a backlog: while one claim's transaction is still open,
    # another claims the rows it did not take (SKIP LOCKED on PostgreSQL) instead of
    # waiting for it. SQLite has one writer, so there is nothing to share there.
    if harness.db.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer: claims cannot overlap")
    for n in range(4):
        await harness.say("パスワード忘れた", who=f"c{n}")
    now = harness.clock()
    claim = (OutboxStatus.PENDING, OutboxStatus.SENDING, now, timedelta(seconds=60))
    async with harness.sessions() as first, first.begin():
        mine = await claim_due(first, Outbox, "conversation_id", *claim, 2)
        async with harness.sessions() as second, second.begin():
            # bounded only so that a claim that waited would fail instead of hanging
            theirs = await asyncio.wait_for(
                claim_due(second, Outbox, "conversation_id", *claim, 10), timeout=30
            )
    assert len(mine) == 2 and len(theirs) == 2 and not set(mine) & set(theirs)
