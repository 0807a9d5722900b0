"""An inbox claim fences the turn it is given to: the event is marked done in the turn's
own transaction, and a worker whose claim was taken over (its lease ran out and another
attempt claimed the event) has its turn dropped, so the customer is answered once."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.claims import claim_due
from bot.inbox import EventClaim, EventIntake, _Marks
from bot.messages import Inbound
from bot.models import InboundEvent, InboxStatus, Message, Outbox
from bot.statement_count import StatementCount
from tests.bot.conftest import Harness
from tests.bot.test_event_intake import event

LEASE = timedelta(seconds=120)


async def store(harness: Harness) -> None:
    row = {**event("e1"), "due_at": harness.clock(), "received_at": harness.clock()}
    await EventIntake(harness.sessions).store([row])


async def claim(harness: Harness) -> EventClaim:
    """Claim the one stored event as the inbox does, and the claim it hands a handler."""
    async with harness.sessions() as session, session.begin():
        ids = await claim_due(
            session, InboundEvent, "sender", InboxStatus.PENDING, InboxStatus.PROCESSING,
            harness.clock(), LEASE, 10,
        )  # fmt: skip
        (row,) = [await session.get(InboundEvent, i) for i in ids]
        assert row is not None and row.id is not None
        return EventClaim(_Marks.build(), row.id, row.attempts, harness.clock)


def question(harness: Harness) -> Inbound:
    return Inbound(
        channel="memory", customer_ref="c1", received_at=harness.clock(),
        text="パスワード忘れた", event_id="e1",
    )  # fmt: skip


async def status(harness: Harness) -> str:
    async with harness.sessions() as session:
        return (await session.exec(select(InboundEvent.status))).one()


async def test_the_mark_commits_with_the_turn_instead_of_a_processed_row(
    harness: Harness,
) -> None:
    await store(harness)
    mine = await claim(harness)
    with StatementCount(harness.db) as count:
        result = await harness.engine.handle(question(harness), fence=mine)
    assert result.replies and not result.duplicate
    assert mine.marked and await status(harness) == InboxStatus.DONE
    assert not any("processed_event" in s for s in count.statements)


async def test_a_claim_taken_over_drops_the_turn(harness: Harness) -> None:
    await store(harness)
    stale = await claim(harness)
    harness.clock.advance(seconds=LEASE.total_seconds() + 1)
    current = await claim(harness)  # the lease ran out: a second attempt has it
    dropped = await harness.engine.handle(question(harness), fence=stale)
    assert dropped.duplicate and not stale.marked
    async with harness.sessions() as session:
        assert (await session.exec(select(Message))).all() == []
        assert (await session.exec(select(Outbox))).all() == []
    assert await status(harness) == InboxStatus.PROCESSING
    # the current claimer answers, once
    answered = await harness.engine.handle(question(harness), fence=current)
    assert answered.replies and current.marked
    assert await status(harness) == InboxStatus.DONE
    # and a late retry of the stale worker is dropped too
    assert (await harness.engine.handle(question(harness), fence=stale)).duplicate
