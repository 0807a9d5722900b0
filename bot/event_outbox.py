"""The transactional outbox of domain events: nothing a commit owes its subscribers is lost.

The engine and the handoff service `record` a change's events in the transaction that
makes the change: one `event_delivery` row per event and subscriber. After the commit
they ask for `deliver`y at once, so a Slack case opens in the same request as the
handoff; a delivery that fails, or that a crash leaves undone, stays in the table and
the worker (`run`) retries it with backoff, on any replica (rows are claimed with
`bot.claims.claim_due`: SKIP LOCKED, one conversation's events in order per
subscriber).

A delivery is one transaction that does the subscriber's work and marks the row done,
the mark conditional on the row still being this attempt's. Retried, redelivered or
taken over after a lease runs out, the work commits at most once, and the row keeps
coming back until it has: each event is handled exactly once in effect. The event's
key (`event_key`), shared by its rows for each subscriber, identifies it to anything
outside the database.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, and_, exists, update
from sqlalchemy.orm import aliased
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.claims import (
    POLL_SECONDS,
    LoopingWorker,
    WorkLoop,
    backoff,
    claim_due,
    claimed_rows,
    work_on,
)
from bot.clock import Clock
from bot.db import SessionFactory
from bot.events import DomainEvent, decode_event, encode_event
from bot.metrics import Metrics, SendResult
from bot.models import EventDelivery, EventDeliveryStatus

# 1 s doubling to 10 minutes, then every 10 minutes: about two hours of retries.
MAX_ATTEMPTS = 20
LEASE = timedelta(seconds=60)
BATCH = 50
# Deliveries run side by side by one process (different conversations or subscribers).
CONCURRENCY = 8
OPEN = (EventDeliveryStatus.PENDING, EventDeliveryStatus.PROCESSING)

EventHandler = Callable[[AsyncSession, Any], Awaitable[None]]


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class Subscription:
    """A named consumer of events of the given kinds (subclasses included).

    `handle` does its work in the session it is given, inside the delivery's
    transaction, and must not commit; `after` runs once that transaction has committed
    (to wake the worker that sends what the handler queued). `name` is stored in the
    rows, so it must stay the same across releases and replicas.
    """

    name: str
    kinds: tuple[type[DomainEvent], ...]
    handle: EventHandler
    after: Callable[[], None] = _nothing


class _NotOurs(Exception):
    """The row is no longer this attempt's (done, or taken over): undo the work."""


class EventOutbox(LoopingWorker):
    def __init__(
        self,
        sessions: SessionFactory,
        clock: Clock,
        logger: logging.Logger,
        poll_seconds: float = POLL_SECONDS,
        lease: timedelta = LEASE,
        metrics: Metrics | None = None,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._log = logger
        self._lease = lease
        self._metrics = metrics or Metrics.create()
        self._subscriptions: dict[str, Subscription] = {}
        self._loop = WorkLoop(self.deliver_once, BATCH, poll_seconds, logger, "event delivery")

    def subscribe(self, subscription: Subscription) -> None:
        """Add a subscriber; events recorded from now on are owed to it."""
        if subscription.name in self._subscriptions:
            raise ValueError(f"a subscriber named {subscription.name!r} exists already")
        self._subscriptions[subscription.name] = subscription

    async def record(
        self, session: AsyncSession, events: Sequence[DomainEvent]
    ) -> list[EventDelivery]:
        """Add what `events` owe to the subscribers, in the caller's transaction.

        Returns the rows, to pass to `deliver` once that transaction has committed.
        """
        now = self._clock()
        rows: list[EventDelivery] = []
        for event in events:
            kind, payload = encode_event(event)
            key = uuid.uuid4().hex
            for name, subscription in self._subscriptions.items():
                if isinstance(event, subscription.kinds):
                    row = EventDelivery(
                        event_key=key, subscriber=name, kind=kind, payload=payload,
                        group_key=f"{name}:{event.conversation_id}",
                        due_at=now, created_at=now,
                    )  # fmt: skip
                    rows.append(row)
        if rows:
            session.add_all(rows)
            await session.flush()
        return rows

    async def deliver(self, rows: Sequence[EventDelivery]) -> None:
        """Hand just-committed events to their subscribers now, one transaction each.

        Never raises for a delivery that cannot be made now (the subscriber fails, the
        database is away, an earlier event of the conversation is still owed): the row
        stays owed and the worker takes it up.
        """
        left = False
        for row in rows:
            try:
                left |= not await self._deliver(row, claimed=None)
            except Exception as exc:
                left = True
                self._log.warning(
                    "event delivery deferred to the worker",
                    extra={"event": row.kind, "subscriber": row.subscriber, "error": str(exc)},
                )
        if left:
            self.notify()

    async def deliver_once(self) -> int:
        """Claim one batch of due deliveries and make them; return how many were claimed."""
        now = self._clock()
        async with self._sessions() as session, session.begin():
            ids = await claim_due(
                session, EventDelivery, "group_key",
                EventDeliveryStatus.PENDING, EventDeliveryStatus.PROCESSING,
                now, self._lease, BATCH,
                # A row for a subscriber this process lacks waits for a replica that has it.
                only=col(EventDelivery.subscriber).in_(list(self._subscriptions)),
            )  # fmt: skip
            claimed: list[EventDelivery] = await claimed_rows(session, EventDelivery, ids)

        async def one(row: EventDelivery) -> None:
            await self._deliver(row, claimed=row.attempts)

        await work_on(claimed, one, CONCURRENCY)
        return len(ids)

    async def _deliver(self, row: EventDelivery, claimed: int | None) -> bool:
        """Do the subscriber's work and mark the row done, in one transaction.

        `claimed` is the attempt number of the worker's claim, or None for a delivery
        right after the commit (the row must then still be pending and first owed of
        its group). False when the row was not this call's to deliver or the work failed.
        """
        subscription = self._subscriptions[row.subscriber]
        now = self._clock()
        try:
            async with self._sessions() as session, session.begin():
                if not await _mark_done(session, row, claimed, now):
                    raise _NotOurs
                await subscription.handle(session, decode_event(row.kind, row.payload))
        except _NotOurs:
            return False
        except Exception as exc:
            await self._failed(row, claimed, exc)
            return False
        self._metrics.event_delivered(row.subscriber, SendResult.SENT)
        subscription.after()
        return True

    async def _failed(self, row: EventDelivery, claimed: int | None, exc: Exception) -> None:
        now = self._clock()
        attempts = row.attempts if claimed is not None else row.attempts + 1
        error = f"{type(exc).__name__}: {exc}"[:500]
        extra = {
            "event": row.kind,
            "subscriber": row.subscriber,
            "conversation": row.payload.get("conversation_id"),
            "attempts": attempts,
        }
        values: dict[str, object]
        if attempts >= MAX_ATTEMPTS:
            values = {"status": EventDeliveryStatus.FAILED, "last_error": error}
            self._log.error("event delivery given up", exc_info=exc, extra=extra)
            result = SendResult.FAILED
        else:
            delay = backoff(attempts)
            values = {
                "status": EventDeliveryStatus.PENDING,
                "attempts": attempts,
                "due_at": now + delay,
                "last_error": error,
            }
            self._loop.wake_in(delay.total_seconds())
            self._log.warning("event delivery failed; will retry", exc_info=exc, extra=extra)
            result = SendResult.RETRY
        async with self._sessions() as session, session.begin():
            await session.exec(_still_ours(row, claimed).values(**values))
        self._metrics.event_delivered(row.subscriber, result)


def _still_ours(row: EventDelivery, claimed: int | None) -> Any:
    """An UPDATE of `row` that matches only while the row is this attempt's to make."""
    statement = update(EventDelivery).where(col(EventDelivery.id) == row.id)
    if claimed is not None:
        return statement.where(
            col(EventDelivery.status) == EventDeliveryStatus.PROCESSING,
            col(EventDelivery.attempts) == claimed,
        )
    earlier = aliased(EventDelivery)
    first_owed = ~exists().where(
        and_(
            col(earlier.group_key) == row.group_key,
            col(earlier.status).in_(OPEN),
            col(earlier.id) < row.id,
        )
    )
    return statement.where(col(EventDelivery.status) == EventDeliveryStatus.PENDING, first_owed)


async def _mark_done(
    session: AsyncSession, row: EventDelivery, claimed: int | None, now: datetime
) -> bool:
    values: dict[str, object] = {"status": EventDeliveryStatus.DONE, "handled_at": now}
    if claimed is None:
        values["attempts"] = EventDelivery.attempts + 1
    result = await session.exec(_still_ours(row, claimed).values(**values))
    assert isinstance(result, CursorResult)
    return bool(result.rowcount == 1)
