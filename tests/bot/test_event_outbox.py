"""The outbox of domain events on a real database: retried with backoff, kept in order per
conversation, shared by replicas, taken over after a cancelled delivery's lease, and
each event's work committed exactly once."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.backlog import read_backlog
from bot.db import SessionFactory, make_engine, make_session_factory, upgrade
from bot.event_outbox import LEASE, MAX_ATTEMPTS, EventOutbox, Subscription
from bot.events import ConversationResolved, DomainEvent, HandoffRequested
from bot.models import EventDelivery, EventDeliveryStatus, ProcessedEvent
from tests.conftest import Database
from tests.fakes.clock import ManualClock

LOG = logging.getLogger("test")


@dataclass
class Counting:
    """A subscriber whose work is a row in the database (a ProcessedEvent per event), so
    work that was rolled back does not count; `seen` counts every call, committed or not."""

    fail: set[tuple[int, str]] = field(default_factory=set)  # (conversation, seq) fail once
    block: asyncio.Event | None = None  # the first call waits here
    entered: asyncio.Event = field(default_factory=asyncio.Event)
    seen: list[tuple[int, str]] = field(default_factory=list)

    async def handle(self, session: AsyncSession, event: ConversationResolved) -> None:
        key = (event.conversation_id, event.resolution)
        self.seen.append(key)
        session.add(
            ProcessedEvent(
                channel="effect", event_id=f"{key[0]}:{key[1]}:{uuid.uuid4().hex}",
                processed_at=event.occurred_at,
            )
        )  # fmt: skip
        await session.flush()
        if self.block is not None:
            block, self.block = self.block, None
            self.entered.set()
            await block.wait()
        await asyncio.sleep(0)  # let other deliveries interleave
        if key in self.fail:
            self.fail.discard(key)
            raise RuntimeError(f"subscriber failed on {key}")


@dataclass
class Setup:
    sessions: SessionFactory
    clock: ManualClock
    outbox: EventOutbox
    counting: Counting


@pytest.fixture
async def setup(database: Database) -> AsyncIterator[Setup]:
    db = make_engine(database.url, database.schema)
    await upgrade(db)
    sessions = make_session_factory(db)
    clock = ManualClock()
    outbox = EventOutbox(sessions, clock, LOG)
    counting = Counting()
    outbox.subscribe(Subscription("counting", (ConversationResolved,), counting.handle))
    try:
        yield Setup(sessions, clock, outbox, counting)
    finally:
        await db.dispose()


def resolved(conversation_id: int, seq: int, clock: ManualClock) -> ConversationResolved:
    return ConversationResolved(
        conversation_id=conversation_id, customer_id=conversation_id, channel="web",
        occurred_at=clock(), resolution=str(seq),
    )  # fmt: skip


async def record(s: Setup, events: list[DomainEvent]) -> list[EventDelivery]:
    async with s.sessions() as session, session.begin():
        return await s.outbox.record(session, events)


async def effects(sessions: SessionFactory) -> list[str]:
    """The committed work, as conversation:seq, in commit order."""
    async with sessions() as session:
        rows = await session.exec(
            select(ProcessedEvent.event_id)
            .where(ProcessedEvent.channel == "effect")
            .order_by(col(ProcessedEvent.id))
        )
        return [":".join(r.split(":")[:2]) for r in rows.all()]


async def owed(sessions: SessionFactory) -> int:
    async with sessions() as session:
        open_rows = select(func.count()).where(col(EventDelivery.status) != "done")
        return int((await session.exec(open_rows)).one())


async def rows(sessions: SessionFactory) -> list[EventDelivery]:
    async with sessions() as session:
        found = await session.exec(select(EventDelivery).order_by(col(EventDelivery.id)))
        return list(found.all())


async def test_recorded_events_are_delivered_after_commit_in_one_transaction_each(
    setup: Setup,
) -> None:
    deliveries = await record(setup, [resolved(1, 1, setup.clock), resolved(2, 1, setup.clock)])
    # Nothing happens before the caller hands the committed rows over.
    assert await effects(setup.sessions) == []
    await setup.outbox.deliver(deliveries)
    assert await effects(setup.sessions) == ["1:1", "2:1"]
    assert [(r.status, r.attempts) for r in await rows(setup.sessions)] == [("done", 1)] * 2
    # Done is done: neither the worker nor a second hand-over repeats the work.
    assert await setup.outbox.deliver_once() == 0
    await setup.outbox.deliver(deliveries)
    assert await effects(setup.sessions) == ["1:1", "2:1"]


async def test_events_without_a_subscriber_leave_no_rows(setup: Setup) -> None:
    handoff = HandoffRequested(
        conversation_id=1, customer_id=1, channel="web", occurred_at=setup.clock(),
        handoff_id=1, reason="no_match",
    )  # fmt: skip
    assert await record(setup, [handoff]) == []
    assert await rows(setup.sessions) == []


async def test_a_failing_subscriber_is_retried_with_backoff_and_its_conversation_waits(
    setup: Setup,
) -> None:
    setup.counting.fail = {(1, "1")}
    first = await record(setup, [resolved(1, 1, setup.clock), resolved(2, 1, setup.clock)])
    await setup.outbox.deliver(first)
    later = await record(setup, [resolved(1, 2, setup.clock)])
    await setup.outbox.deliver(later)
    # Conversation 2 went through; conversation 1's second event waits behind its first.
    assert await effects(setup.sessions) == ["2:1"]
    failed, _, waiting = await rows(setup.sessions)
    assert (failed.status, failed.attempts) == (EventDeliveryStatus.PENDING, 1)
    assert failed.last_error == "RuntimeError: subscriber failed on (1, '1')"
    assert failed.due_at == setup.clock() + timedelta(seconds=1)  # the first backoff
    assert (waiting.status, waiting.attempts) == (EventDeliveryStatus.PENDING, 0)
    assert setup.counting.seen.count((1, "2")) == 0
    assert await setup.outbox.deliver_once() == 0  # not due yet
    setup.clock.advance(seconds=1)
    while await setup.outbox.deliver_once():
        pass
    assert await effects(setup.sessions) == ["2:1", "1:1", "1:2"]
    assert [r.status for r in await rows(setup.sessions)] == ["done"] * 3


async def test_a_delivery_cancelled_mid_work_is_taken_over_after_its_lease(
    setup: Setup,
) -> None:
    await record(setup, [resolved(1, 1, setup.clock)])  # committed; the process then died
    setup.counting.block = asyncio.Event()
    worker = asyncio.create_task(setup.outbox.deliver_once())
    await asyncio.wait_for(setup.counting.entered.wait(), 10)
    worker.cancel()
    with pytest.raises(asyncio.CancelledError):
        await worker
    # The work was rolled back with its transaction; the claim stays until its lease ends.
    assert await effects(setup.sessions) == []
    (claimed,) = await rows(setup.sessions)
    assert (claimed.status, claimed.attempts) == (EventDeliveryStatus.PROCESSING, 1)
    assert await setup.outbox.deliver_once() == 0
    setup.clock.advance(seconds=LEASE.total_seconds())
    assert await setup.outbox.deliver_once() == 1
    assert await effects(setup.sessions) == ["1:1"]
    assert setup.counting.seen == [(1, "1"), (1, "1")]  # tried twice, committed once
    (done,) = await rows(setup.sessions)
    assert (done.status, done.attempts) == (EventDeliveryStatus.DONE, 2)


async def test_two_replicas_share_the_backlog_each_event_once_and_in_order(
    setup: Setup, database: Database
) -> None:
    events = [
        resolved(conversation, seq, setup.clock)
        for seq in range(1, 6)
        for conversation in range(1, 11)
    ]
    await record(setup, list(events))
    other_db = make_engine(database.url, database.schema)
    try:
        other_sessions = make_session_factory(other_db)
        other = EventOutbox(other_sessions, setup.clock, LOG)
        other_counting = Counting()
        other.subscribe(Subscription("counting", (ConversationResolved,), other_counting.handle))

        async def drain(outbox: EventOutbox) -> None:
            # A replica that finds every head claimed by the other one keeps looking
            # until nothing is owed.
            for _ in range(10_000):
                if not await outbox.deliver_once() and not await owed(setup.sessions):
                    return
                await asyncio.sleep(0)
            raise AssertionError("the backlog never drained")

        await asyncio.gather(drain(setup.outbox), drain(other))
    finally:
        await other_db.dispose()
    done = await effects(setup.sessions)
    assert sorted(done) == sorted(f"{e.conversation_id}:{e.resolution}" for e in events)
    for conversation in range(1, 11):
        mine = [d for d in done if d.startswith(f"{conversation}:")]
        assert mine == [f"{conversation}:{seq}" for seq in range(1, 6)]
    assert len(setup.counting.seen) + len(other_counting.seen) == len(events)


async def test_rows_for_a_subscriber_this_process_lacks_wait_for_one_that_has_it(
    setup: Setup,
) -> None:
    elsewhere: list[DomainEvent] = []

    async def keep(session: AsyncSession, event: DomainEvent) -> None:
        elsewhere.append(event)

    setup.outbox.subscribe(Subscription("elsewhere", (ConversationResolved,), keep))
    await record(setup, [resolved(1, 1, setup.clock)])
    lacking = EventOutbox(setup.sessions, setup.clock, LOG)
    counting = Counting()
    lacking.subscribe(Subscription("counting", (ConversationResolved,), counting.handle))
    assert await lacking.deliver_once() == 1
    assert await lacking.deliver_once() == 0
    assert [r.status for r in await rows(setup.sessions)] == ["done", "pending"]
    assert await setup.outbox.deliver_once() == 1
    assert len(elsewhere) == 1


async def test_a_delivery_that_keeps_failing_is_given_up_and_counted(setup: Setup) -> None:
    await record(setup, [resolved(1, 1, setup.clock)])
    async with setup.sessions() as session, session.begin():
        await session.exec(update(EventDelivery).values(attempts=MAX_ATTEMPTS - 1))
    setup.counting.fail = {(1, "1")}
    assert await setup.outbox.deliver_once() == 1
    (row,) = await rows(setup.sessions)
    assert (row.status, row.attempts) == (EventDeliveryStatus.FAILED, MAX_ATTEMPTS)
    setup.clock.advance(hours=1)
    assert await setup.outbox.deliver_once() == 0
    async with setup.sessions() as session:
        backlog = await read_backlog(session, setup.clock(), ())
        assert (backlog.events.depth, backlog.events_failed) == (0, 1)
        count = await session.exec(select(func.count()).select_from(ProcessedEvent))
        assert count.one() == 0


async def test_the_backlog_reports_the_oldest_event_owed(setup: Setup) -> None:
    setup.counting.fail = {(1, "1")}
    await setup.outbox.deliver(await record(setup, [resolved(1, 1, setup.clock)]))
    setup.clock.advance(seconds=90)
    await record(setup, [resolved(2, 1, setup.clock)])
    async with setup.sessions() as session:
        backlog = await read_backlog(session, setup.clock(), ())
    assert (backlog.events.depth, backlog.events.oldest_age_seconds) == (2, 90.0)
