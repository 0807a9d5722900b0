"""Delivering queued messages: claim due outbox rows, send them, retry with backoff.

Rows are claimed with `bot.claims.claim_due`, so several processes can run dispatchers on one
database and each row is sent by one of them; a claim is a lease that another process
takes over when the claimer dies mid-send. Only the oldest undelivered row of each
conversation is claimable, which keeps order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, update
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.claims import POLL_SECONDS, LoopingWorker, WorkLoop, backoff, claim_due, work_on
from bot.clock import Clock
from bot.db import SessionFactory
from bot.group_commit import GroupCommit
from bot.metrics import Metrics, SendResult
from bot.models import Conversation, Identity, Message, Outbox, OutboxStatus, table_of
from bot.ports import OutputChannel, PermanentSendError, Recipient, TemporarySendError
from bot.store import to_outbound

MAX_ATTEMPTS = 12
LEASE = timedelta(seconds=60)
BATCH = 200
# Conversations sent to at the same time by one process.
CONCURRENCY = 64
BLOCKED = "the customer has blocked this channel"


class OutboxDispatcher(LoopingWorker):
    def __init__(
        self,
        sessions: SessionFactory,
        channels: Mapping[str, OutputChannel],
        clock: Clock,
        logger: logging.Logger,
        poll_seconds: float = POLL_SECONDS,
        lease: timedelta = LEASE,
        metrics: Metrics | None = None,
    ) -> None:
        self._sessions = sessions
        self._channels = channels
        self._lease = lease
        self._clock = clock
        self._log = logger
        self._metrics = metrics or Metrics.create()
        self._loop = WorkLoop(self.dispatch_once, BATCH, poll_seconds, logger, "outbox dispatch")
        self._records = GroupCommit(sessions)
        self._marks = _Marks.build()
        self._largest_batch = max((c.max_batch for c in channels.values()), default=1)

    async def dispatch_once(self) -> int:
        """Claim and send one batch of due rows; return how many were claimed."""
        now = self._clock()
        claimed, batches = await self._claim(now)
        await work_on(batches, self._send, CONCURRENCY)
        return claimed

    async def _claim(self, now: datetime) -> tuple[int, list[_Batch]]:
        """Claim due heads and, in the same transaction, read what sending them needs:
        each head with the rows that follow it, their messages and recipients, in one
        joined query."""
        async with self._sessions() as session, session.begin():
            ids = await claim_due(
                session, Outbox, "conversation_id", OutboxStatus.PENDING, OutboxStatus.SENDING,
                now, self._lease, BATCH,
            )  # fmt: skip
            if not ids:
                return 0, []
            rows = await _heads_and_followers(session, ids, self._largest_batch)
            # The followers taken along are marked here; the commit writes them together.
            return len(ids), self._batches(ids, rows)

    def _batches(
        self, ids: Sequence[int], rows: Sequence[tuple[Outbox, Message, Identity]]
    ) -> list[_Batch]:
        """Each claimed head with the queued rows of its conversation that answer the same
        inbound (same reply token), up to the channel's batch size.

        No other dispatcher can claim those followers: a row is claimable only when no
        earlier row of its conversation is still open, and the head is.
        """
        heads = set(ids)
        batches: list[_Batch] = []
        current: _Batch | None = None
        for outbox, message, identity in rows:  # by conversation, then id
            if outbox.id in heads:
                channel = self._channels.get(outbox.channel)
                size = channel.max_batch if channel is not None else 1
                current = _Batch([outbox], [message], identity, size)
                batches.append(current)
                continue
            if (
                current is None
                or outbox.conversation_id != current.rows[0].conversation_id
                or len(current.rows) >= current.size
                or outbox.reply_token != current.rows[0].reply_token
                or outbox.due_at > current.rows[0].due_at
            ):
                current = None  # this conversation's batch is complete
                continue
            outbox.status = OutboxStatus.SENDING
            outbox.attempts += 1
            current.rows.append(outbox)
            current.messages.append(message)
        return batches

    async def _send(self, batch: _Batch) -> None:
        head = batch.rows[0]
        channel = self._channels.get(head.channel)
        error: str | None = None
        retry_after: float | None = None
        permanent = False
        if batch.identity.blocked_at is not None:
            error, permanent = BLOCKED, True
        elif channel is None:
            error = f"channel {head.channel!r} is not configured"
            retry_after = 600.0
        else:
            identity = batch.identity
            recipient = Recipient(head.channel, identity.external_id, identity.customer_id)
            fresh = head.reply_deadline is not None and self._clock() < head.reply_deadline
            outbound = [
                replace(to_outbound(m), reply_token=head.reply_token if fresh else None)
                for m in batch.messages
            ]
            try:
                await channel.send(recipient, outbound)
            except TemporarySendError as exc:
                error, retry_after = str(exc), exc.retry_after
            except PermanentSendError as exc:
                error, permanent = str(exc), True
            except Exception as exc:  # an unexpected failure is retried like a temporary one
                self._log.exception("channel send raised", extra={"outbox": head.id})
                error = f"{type(exc).__name__}: {exc}"
        await self._record(batch.rows, error, retry_after, permanent)

    async def _record(
        self, rows: Sequence[Outbox], error: str | None, retry_after: float | None, permanent: bool
    ) -> None:
        now = self._clock()
        head = rows[0]
        ids = [r.id for r in rows]
        statement: Any
        values: dict[str, object]
        result = SendResult.RETRY
        if error is None:
            result = SendResult.SENT
            statement, values = self._marks.sent, {"b_at": now}
        elif permanent or head.attempts >= MAX_ATTEMPTS:
            result = SendResult.FAILED
            statement, values = self._marks.failed, {"b_error": error[:500]}
            # A customer who blocked the account chose not to hear from us: nothing for
            # an operator to look into.
            log = self._log.info if error == BLOCKED else self._log.error
            log(
                "outbox message given up",
                extra={"outbox": ids, "channel": head.channel, "error": error[:200]},
            )
        else:
            delay = backoff(head.attempts)
            if retry_after is not None:
                delay = max(delay, timedelta(seconds=retry_after))
            statement = self._marks.retry
            values = {"b_due": now + delay, "b_error": error[:500]}
            self._loop.wake_in(delay.total_seconds())
            self._log.warning(
                "outbox send failed; will retry",
                extra={"outbox": ids, "channel": head.channel, "retry_in": delay.total_seconds()},
            )
        await asyncio.gather(
            *(self._records.execute(statement, {"b_id": i, **values}) for i in ids)
        )
        self._metrics.outbox_sent(head.channel, result, len(rows))


@dataclass(frozen=True)
class _Marks:
    """The three ways a sent row is recorded, one row per execution: statement objects
    made once, so that the group commit runs a group's rows as one executemany."""

    sent: Any
    retry: Any
    failed: Any

    @classmethod
    def build(cls) -> _Marks:
        table = table_of(Outbox)
        c = table.c

        def mark(**values: Any) -> Any:
            return (
                update(table)
                .where(c.id == bindparam("b_id"), c.status == OutboxStatus.SENDING)
                .values(**values)
            )

        return cls(
            sent=mark(status=OutboxStatus.SENT, last_error=None,
                      sent_at=bindparam("b_at", type_=c.sent_at.type)),
            retry=mark(status=OutboxStatus.PENDING,
                       due_at=bindparam("b_due", type_=c.due_at.type),
                       last_error=bindparam("b_error", type_=c.last_error.type)),
            failed=mark(status=OutboxStatus.FAILED,
                        last_error=bindparam("b_error", type_=c.last_error.type)),
        )  # fmt: skip


@dataclass
class _Batch:
    rows: list[Outbox]
    messages: list[Message]
    identity: Identity
    size: int  # the most rows the channel takes in one call


async def _heads_and_followers(
    session: AsyncSession, ids: Sequence[int], per_conversation: int
) -> list[tuple[Outbox, Message, Identity]]:
    """The claimed rows and the first open rows after them in their conversations (at
    most `per_conversation` in all), each with its message and the conversation's
    identity, ordered by conversation and id. Capped per conversation so that a long
    backlog (after an outage) is not read again for every batch of it."""
    conversations = select(col(Outbox.conversation_id)).where(col(Outbox.id).in_(ids))
    place = (
        func.row_number()
        .over(partition_by=col(Outbox.conversation_id), order_by=col(Outbox.id))
        .label("place")
    )
    candidates = (
        select(col(Outbox.id).label("id"), place)
        .where(col(Outbox.conversation_id).in_(conversations.scalar_subquery()))
        # A follower still `sending` was taken along by the head's previous claimer, whose
        # lease has run out: it goes with the head again.
        .where(
            col(Outbox.id).in_(ids)
            | col(Outbox.status).in_((OutboxStatus.PENDING, OutboxStatus.SENDING))
        )
        .subquery()
    )
    first = select(candidates.c.id).where(candidates.c.place <= per_conversation)
    query = (
        select(Outbox, Message, Identity)
        .join(Message, col(Message.id) == Outbox.message_id)
        .join(Conversation, col(Conversation.id) == Outbox.conversation_id)
        .join(Identity, col(Identity.id) == Conversation.identity_id)
        .where(col(Outbox.id).in_(first.scalar_subquery()))
        .order_by(col(Outbox.conversation_id), col(Outbox.id))
    )
    return [(o, m, i) for o, m, i in (await session.exec(query)).all()]
