"""Processing stored webhook events after the webhook has been acknowledged.

A channel's webhook stores each event as an `inbound_event` row (the unique key drops
redeliveries) and answers at once; this processor claims the rows (`bot.claims`), hands
each to its channel's handler and marks it done. A handler that raises is retried with
backoff; the engine's own event-id dedupe makes a retry after a crash harmless.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col

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
from bot.db_outage import describe, is_database_unavailable
from bot.group_commit import GroupCommit
from bot.metrics import InboxResult, Metrics
from bot.models import InboundEvent, InboxStatus

MAX_ATTEMPTS = 8
LEASE = timedelta(seconds=120)
BATCH = 50
# Senders whose events one process works on at the same time.
CONCURRENCY = 8


class InboxHandler(Protocol):
    """A channel's processing of one stored event (its payload as the platform sent it)."""

    async def process(self, payload: dict[str, Any]) -> None: ...


class InboxProcessor(LoopingWorker):
    def __init__(
        self,
        sessions: SessionFactory,
        handlers: Mapping[str, InboxHandler],
        clock: Clock,
        logger: logging.Logger,
        poll_seconds: float = POLL_SECONDS,
        metrics: Metrics | None = None,
    ) -> None:
        self._sessions = sessions
        self._handlers = handlers
        self._clock = clock
        self._log = logger
        self._metrics = metrics or Metrics.create()
        self._loop = WorkLoop(self.process_once, BATCH, poll_seconds, logger, "inbox processing")
        self._completions = GroupCommit(sessions)

    async def process_once(self) -> int:
        """Claim and process one batch of due events; return how many were claimed."""
        async with self._sessions() as session, session.begin():
            ids = await claim_due(
                session, InboundEvent, "sender", InboxStatus.PENDING, InboxStatus.PROCESSING,
                self._clock(), LEASE, BATCH,
            )  # fmt: skip
            rows: list[InboundEvent] = await claimed_rows(session, InboundEvent, ids)
        await work_on(rows, self._process, CONCURRENCY)
        return len(ids)

    async def _process(self, row: InboundEvent) -> None:
        assert row.id is not None
        row_id = row.id
        handler = self._handlers.get(row.channel)
        error: str | None = None
        try:
            if handler is None:
                raise RuntimeError(f"no handler for channel {row.channel!r}")
            await handler.process(row.payload)
        except Exception as exc:
            context = {"inbox": row_id, "channel": row.channel}
            if is_database_unavailable(exc):
                # Retried like any failure; a traceback per event would bury the outage.
                self._log.warning(
                    "inbound event failed: database unavailable",
                    extra={**context, "error": describe(exc)},
                )
            else:
                self._log.exception("inbound event failed", extra=context)
            error = f"{type(exc).__name__}: {exc}"[:500]
        now = self._clock()
        values: dict[str, object]
        result = InboxResult.RETRY
        if error is None:
            result = InboxResult.DONE
            values = {"status": InboxStatus.DONE, "processed_at": now, "last_error": None}
        elif row.attempts >= MAX_ATTEMPTS:
            result = InboxResult.FAILED
            values = {"status": InboxStatus.FAILED, "last_error": error}
        else:
            delay = backoff(row.attempts)
            values = {"status": InboxStatus.PENDING, "due_at": now + delay, "last_error": error}
            self._loop.wake_in(delay.total_seconds())
        await self._completions.execute(
            update(InboundEvent)
            .where(col(InboundEvent.id) == row_id)
            .where(col(InboundEvent.status) == InboxStatus.PROCESSING)
            .values(**values)
        )
        self._metrics.inbox_processed(row.channel, result)


class EventIntake:
    """Stores webhook events (column values) as they arrive, skipping any already stored.

    The rows of concurrent webhook calls share one transaction and one statement (group
    commit): a burst of LINE calls, each with one event, cost a transaction per call
    and queued up on SQLite's one connection. Each call still returns only once its own
    rows have committed, so nothing is acknowledged before it is stored.
    """

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions
        self._writes = GroupCommit(sessions)
        self._statement: Any = None

    async def store(self, rows: list[dict[str, Any]]) -> int:
        """Insert the rows; return how many were new. `INSERT ... ON CONFLICT DO NOTHING`
        on the (channel, event_id) key, so a redelivered event is dropped by the
        database, whichever replica receives it. (Two calls carrying the same new event
        at the same instant both count it as new; it is stored once.)"""
        if not rows:
            return 0
        statement = await self._insert()
        stored = await asyncio.gather(*(self._writes.execute(statement, row) for row in rows))
        mine = {(row["channel"], row["event_id"]) for row in rows}
        new = {(r.channel, r.event_id) for run in stored for r in run} & mine
        return len(new)

    async def _insert(self) -> Any:
        if self._statement is None:
            async with self._sessions() as session:
                assert session.bind is not None
                postgres = session.bind.dialect.name == "postgresql"
            insert = pg_insert if postgres else sqlite_insert
            self._statement = (
                insert(InboundEvent)
                .on_conflict_do_nothing(index_elements=["channel", "event_id"])
                .returning(col(InboundEvent.channel), col(InboundEvent.event_id))
            )
        return self._statement
