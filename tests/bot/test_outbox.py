"""Outbox delivery: retries with backoff, order per conversation, give-up, one sender."""

from __future__ import annotations

import asyncio
import logging

from sqlmodel import col, select

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
    harness.channel.failures = [TemporarySendError("503 from platform")]
    assert await harness.outbox.dispatch_once() == 1
    assert harness.channel.sent == []
    first, _ = await outbox_rows(harness)
    assert first.status == OutboxStatus.PENDING and first.attempts == 1
    assert first.last_error == "503 from platform"
    # The second message waits behind the first: nothing is claimable until the backoff.
    assert await harness.outbox.dispatch_once() == 0
    harness.clock.advance(seconds=1)
    await harness.outbox.dispatch_once()
    await harness.outbox.dispatch_once()
    assert harness.channel.texts() == [m.text for m in result.replies]
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
    first = (await outbox_rows(harness))[0]
    assert first.status == OutboxStatus.FAILED
    assert first.last_error == "400 invalid recipient"
    harness.clock.advance(hours=3)
    await harness.outbox.dispatch_once()  # the next message is no longer held back
    assert len(harness.channel.sent) == 1


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
    # Claim as a process that dies before sending: rows stay 'sending'.
    claimed = await harness.outbox._claim(harness.clock())
    assert claimed
    assert await harness.outbox.dispatch_once() == 0
    harness.clock.advance(seconds=61)
    assert await harness.outbox.dispatch_once() == 1
    assert len(harness.channel.sent) == 1


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
    assert len(sent) == 40 and len(set(sent)) == 40
    assert all(r.status == OutboxStatus.SENT for r in await outbox_rows(harness))
