"""Delivering queued messages: claim due outbox rows, send them, retry with backoff.

Rows are claimed atomically (`UPDATE ... RETURNING`, with `FOR UPDATE SKIP LOCKED` in the
sub-select on PostgreSQL), so several processes can run dispatchers on one database and
each row is sent by one of them. A claim is a lease: a process that dies mid-send leaves
the row `sending` with a due time in the near future, and another claim picks it up.
Only the oldest undelivered row of each conversation is claimable, which keeps order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, select, update
from sqlalchemy.orm import aliased
from sqlmodel import col

from bot.clock import Clock
from bot.db import SessionFactory
from bot.models import Conversation, Identity, Message, Outbox, OutboxStatus
from bot.ports import OutputChannel, PermanentSendError, Recipient, TemporarySendError
from bot.store import to_outbound

MAX_ATTEMPTS = 12
LEASE = timedelta(seconds=60)
BATCH = 50


def backoff(attempts: int) -> timedelta:
    """1 s, 2 s, 4 s ... capped at 10 minutes: about two hours of retries in all."""
    return timedelta(seconds=min(2 ** max(attempts - 1, 0), 600))


class OutboxDispatcher:
    def __init__(
        self,
        sessions: SessionFactory,
        channels: Mapping[str, OutputChannel],
        clock: Clock,
        logger: logging.Logger,
        poll_seconds: float = 1.0,
    ) -> None:
        self._sessions = sessions
        self._channels = channels
        self._clock = clock
        self._log = logger
        self._poll = poll_seconds
        self._wake = asyncio.Event()

    def notify(self) -> None:
        """Something was queued: send it now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Send due rows forever; cancel to stop."""
        while True:
            try:
                while await self.dispatch_once():
                    pass
            except Exception:
                # A database outage must not kill the loop: the rows wait in the outbox.
                self._log.exception("outbox dispatch failed; will retry")
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll)
            except TimeoutError:
                pass
            self._wake.clear()

    async def dispatch_once(self) -> int:
        """Claim and send one batch of due rows; return how many were claimed."""
        now = self._clock()
        ids = await self._claim(now)
        for outbox_id in ids:
            await self._send(outbox_id)
        return len(ids)

    async def _claim(self, now: datetime) -> list[int]:
        earlier = aliased(Outbox)
        open_states = (OutboxStatus.PENDING, OutboxStatus.SENDING)
        head_of_conversation = ~exists().where(
            and_(
                col(earlier.conversation_id) == col(Outbox.conversation_id),
                col(earlier.status).in_(open_states),
                col(earlier.id) < Outbox.id,
            )
        )
        candidates = (
            select(col(Outbox.id))
            .where(col(Outbox.status).in_(open_states), col(Outbox.due_at) <= now)
            .where(head_of_conversation)
            .order_by(col(Outbox.id))
            .limit(BATCH)
        )
        async with self._sessions() as session, session.begin():
            assert session.bind is not None
            if session.bind.dialect.name == "postgresql":
                candidates = candidates.with_for_update(skip_locked=True, of=Outbox)
            claim = (
                update(Outbox)
                .where(col(Outbox.id).in_(candidates.scalar_subquery()))
                .where(col(Outbox.status).in_(open_states), col(Outbox.due_at) <= now)
                .values(
                    status=OutboxStatus.SENDING,
                    attempts=Outbox.attempts + 1,
                    due_at=now + LEASE,
                )
                .returning(col(Outbox.id))
            )
            rows = (await session.exec(claim)).scalars().all()
        return sorted(rows)

    async def _send(self, outbox_id: int) -> None:
        async with self._sessions() as session:
            row = await session.get(Outbox, outbox_id)
            assert row is not None
            message = await session.get(Message, row.message_id)
            conversation = await session.get(Conversation, row.conversation_id)
            assert message is not None and conversation is not None
            identity = await session.get(Identity, conversation.identity_id)
            assert identity is not None
        channel = self._channels.get(row.channel)
        error: str | None = None
        retry_after: float | None = None
        permanent = False
        if channel is None:
            error = f"channel {row.channel!r} is not configured"
            retry_after = 600.0
        else:
            recipient = Recipient(row.channel, identity.external_id, identity.customer_id)
            try:
                await channel.send(recipient, to_outbound(message))
            except TemporarySendError as exc:
                error, retry_after = str(exc), exc.retry_after
            except PermanentSendError as exc:
                error, permanent = str(exc), True
            except Exception as exc:  # an unexpected failure is retried like a temporary one
                self._log.exception("channel send raised", extra={"outbox": outbox_id})
                error = f"{type(exc).__name__}: {exc}"
        await self._record(row, error, retry_after, permanent)

    async def _record(
        self, row: Outbox, error: str | None, retry_after: float | None, permanent: bool
    ) -> None:
        now = self._clock()
        values: dict[str, object]
        if error is None:
            values = {"status": OutboxStatus.SENT, "sent_at": now, "last_error": None}
        elif permanent or row.attempts >= MAX_ATTEMPTS:
            values = {"status": OutboxStatus.FAILED, "last_error": error[:500]}
            self._log.error(
                "outbox message given up",
                extra={"outbox": row.id, "channel": row.channel, "error": error[:200]},
            )
        else:
            delay = backoff(row.attempts)
            if retry_after is not None:
                delay = max(delay, timedelta(seconds=retry_after))
            values = {
                "status": OutboxStatus.PENDING,
                "due_at": now + delay,
                "last_error": error[:500],
            }
            self._log.warning(
                "outbox send failed; will retry",
                extra={"outbox": row.id, "channel": row.channel, "retry_in": delay.total_seconds()},
            )
        async with self._sessions() as session, session.begin():
            await session.exec(
                update(Outbox)
                .where(col(Outbox.id) == row.id, col(Outbox.status) == OutboxStatus.SENDING)
                .values(**values)
            )
