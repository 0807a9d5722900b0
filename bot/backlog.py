"""What is waiting, read from the database at scrape time: the same on every replica.

Counters live in each process (`bot.metrics`); a queue's length and age are facts about
the shared database, so they are read when Prometheus asks, never kept in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.models import (
    EventDelivery,
    EventDeliveryStatus,
    InboundEvent,
    InboxStatus,
    Outbox,
    OutboxStatus,
    SlackPost,
    Survey,
    SurveyStatus,
)
from handoff.queue import waiting_count

# Not yet delivered: waiting for its turn or a retry, or claimed and being sent.
UNDELIVERED = (OutboxStatus.PENDING, OutboxStatus.SENDING)
UNPROCESSED = (InboxStatus.PENDING, InboxStatus.PROCESSING)
UNHANDLED = (EventDeliveryStatus.PENDING, EventDeliveryStatus.PROCESSING)


@dataclass(frozen=True)
class Queue:
    """A queue's length and how long its oldest row has waited (0 when empty)."""

    depth: int = 0
    oldest_age_seconds: float = 0.0


@dataclass(frozen=True)
class Backlog:
    handoff_queue: int
    outbox: dict[str, Queue]  # by channel
    slack_posts: Queue
    inbox: Queue
    events: Queue  # domain events not yet handled by a subscriber
    events_failed: int  # deliveries given up on: a subscriber kept failing
    surveys_due: int


async def read_backlog(session: AsyncSession, now: datetime, channels: tuple[str, ...]) -> Backlog:
    """Every queue's state at `now`; `channels` always get an outbox entry, even empty."""
    outbox = {channel: Queue() for channel in channels}
    by_channel = (
        select(col(Outbox.channel), func.count(), func.min(col(Outbox.created_at)))
        .where(col(Outbox.status).in_(UNDELIVERED))
        .group_by(col(Outbox.channel))
    )
    for channel, depth, oldest in (await session.exec(by_channel)).all():
        outbox[channel] = _queue(depth, oldest, now)
    surveys_due = select(func.count()).where(
        col(Survey.status) == SurveyStatus.PLANNED, col(Survey.due_at) <= now
    )
    events_failed = select(func.count()).where(
        col(EventDelivery.status) == EventDeliveryStatus.FAILED
    )
    return Backlog(
        handoff_queue=await waiting_count(session),
        outbox=outbox,
        slack_posts=await _one_queue(
            session, SlackPost, col(SlackPost.status).in_(UNDELIVERED), SlackPost.created_at, now
        ),
        inbox=await _one_queue(
            session,
            InboundEvent,
            col(InboundEvent.status).in_(UNPROCESSED),
            InboundEvent.received_at,
            now,
        ),
        events=await _one_queue(
            session,
            EventDelivery,
            col(EventDelivery.status).in_(UNHANDLED),
            EventDelivery.created_at,
            now,
        ),
        events_failed=int((await session.exec(events_failed)).one()),
        surveys_due=int((await session.exec(surveys_due)).one()),
    )


async def _one_queue(
    session: AsyncSession, model: Any, waiting: Any, since: Any, now: datetime
) -> Queue:
    query = select(func.count(), func.min(col(since))).select_from(model).where(waiting)
    depth, oldest = (await session.exec(query)).one()
    return _queue(depth, oldest, now)


def _queue(depth: int, oldest: datetime | None, now: datetime) -> Queue:
    if not depth or oldest is None:
        return Queue()
    # Clamped: a row stamped by another replica's slightly fast clock is not "-0.2 s old".
    return Queue(int(depth), max(0.0, (now - oldest).total_seconds()))
