"""Delivering queued messages: claim due outbox rows, send them, retry with backoff.

Rows are claimed with `bot.claims.claim_due`, so several processes can run dispatchers on one
database and each row is sent by one of them; a claim is a lease that another process
takes over when the claimer dies mid-send. Only the oldest undelivered row of each
conversation is claimable, which keeps order.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import col, select

from bot.claims import POLL_SECONDS, LoopingWorker, WorkLoop, backoff, claim_due, work_on
from bot.clock import Clock
from bot.db import SessionFactory
from bot.metrics import Metrics, SendResult
from bot.models import Conversation, Identity, Message, Outbox, OutboxStatus
from bot.ports import OutputChannel, PermanentSendError, Recipient, TemporarySendError
from bot.store import to_outbound

MAX_ATTEMPTS = 12
LEASE = timedelta(seconds=60)
BATCH = 50
# Conversations sent to at the same time by one process.
CONCURRENCY = 16
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

    async def dispatch_once(self) -> int:
        """Claim and send one batch of due rows; return how many were claimed."""
        now = self._clock()
        ids = await self._claim(now)
        await work_on(ids, self._send, CONCURRENCY)
        return len(ids)

    async def _claim(self, now: datetime) -> list[int]:
        async with self._sessions() as session, session.begin():
            return await claim_due(
                session, Outbox, "conversation_id", OutboxStatus.PENDING, OutboxStatus.SENDING,
                now, self._lease, BATCH,
            )  # fmt: skip

    async def _send(self, head_id: int) -> None:
        batch = await self._take_batch(head_id)
        if batch is None:
            return
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
                self._log.exception("channel send raised", extra={"outbox": head_id})
                error = f"{type(exc).__name__}: {exc}"
        await self._record(batch.rows, error, retry_after, permanent)

    async def _take_batch(self, head_id: int) -> _Batch | None:
        """The claimed head row plus the next queued rows of its conversation that answer
        the same inbound (same reply token), up to the channel's batch size.

        No other dispatcher can claim those followers: a row is claimable only when no
        earlier row of its conversation is still open, and the head is.
        """
        async with self._sessions() as session, session.begin():
            head = await session.get(Outbox, head_id)
            assert head is not None
            channel = self._channels.get(head.channel)
            size = channel.max_batch if channel is not None else 1
            followers = (
                await session.exec(
                    select(Outbox)
                    .where(
                        Outbox.conversation_id == head.conversation_id,
                        Outbox.status == OutboxStatus.PENDING,
                        col(Outbox.id) > head.id,
                        col(Outbox.due_at) <= head.due_at,
                    )
                    .order_by(col(Outbox.id))
                    .limit(size - 1)
                )
            ).all()
            rows = [head]
            for row in followers:
                if row.reply_token != head.reply_token:
                    break
                row.status = OutboxStatus.SENDING
                row.attempts += 1
                rows.append(row)
            message_ids = [r.message_id for r in rows]
            by_id = {
                m.id: m
                for m in (
                    await session.exec(select(Message).where(col(Message.id).in_(message_ids)))
                ).all()
            }
            conversation = await session.get(Conversation, head.conversation_id)
            assert conversation is not None
            identity = await session.get(Identity, conversation.identity_id)
            assert identity is not None
        return _Batch(rows, [by_id[i] for i in message_ids], identity)

    async def _record(
        self, rows: Sequence[Outbox], error: str | None, retry_after: float | None, permanent: bool
    ) -> None:
        now = self._clock()
        head = rows[0]
        ids = [r.id for r in rows]
        values: dict[str, object]
        result = SendResult.RETRY
        if error is None:
            result = SendResult.SENT
            values = {"status": OutboxStatus.SENT, "sent_at": now, "last_error": None}
        elif permanent or head.attempts >= MAX_ATTEMPTS:
            result = SendResult.FAILED
            values = {"status": OutboxStatus.FAILED, "last_error": error[:500]}
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
            values = {
                "status": OutboxStatus.PENDING,
                "due_at": now + delay,
                "last_error": error[:500],
            }
            self._loop.wake_in(delay.total_seconds())
            self._log.warning(
                "outbox send failed; will retry",
                extra={"outbox": ids, "channel": head.channel, "retry_in": delay.total_seconds()},
            )
        async with self._sessions() as session, session.begin():
            await session.exec(
                update(Outbox)
                .where(col(Outbox.id).in_(ids), col(Outbox.status) == OutboxStatus.SENDING)
                .values(**values)
            )
        self._metrics.outbox_sent(head.channel, result, len(rows))


@dataclass(frozen=True)
class _Batch:
    rows: list[Outbox]
    messages: list[Message]
    identity: Identity
