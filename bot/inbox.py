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
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import bindparam, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
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
from bot.db_outage import describe, is_database_unavailable
from bot.group_commit import GroupCommit
from bot.metrics import InboxResult, Metrics
from bot.models import InboundEvent, InboxStatus, table_of

MAX_ATTEMPTS = 8
LEASE = timedelta(seconds=120)
BATCH = 50
# Senders whose events one process works on at the same time.
CONCURRENCY = 8


class InboxHandler(Protocol):
    """A channel's processing of one stored event (its payload as the platform sent it).

    `claim` marks the event done; a handler whose work is a turn of the engine gives it
    to `Engine.handle`, so that the mark commits with the turn (and fences it: see
    `EventClaim`). Otherwise the processor marks the event done after `process`."""

    async def process(self, payload: dict[str, Any], claim: EventClaim) -> None: ...


class EventClaim:
    """This process's claim on one stored event, as a `bot.engine.TurnFence`.

    `hold` marks the event done inside the turn's transaction, if the claim is still
    ours: same attempt, still processing. A claimer whose lease ran out while it worked
    finds the event claimed again (another attempt) or done, and its turn is dropped; so
    an event is answered once without a processed-event row, and the turn's own
    transaction carries the mark instead of a second one after it.
    """

    def __init__(self, marks: _Marks, row_id: int, attempts: int, clock: Clock) -> None:
        self._marks = marks
        self._row_id = row_id
        self._attempts = attempts
        self._clock = clock
        # True once `hold` has marked the event done (the turn may still roll back).
        self.marked = False

    async def hold(self, session: AsyncSession) -> bool:
        params = {"b_id": self._row_id, "b_attempts": self._attempts, "b_at": self._clock()}
        result = await session.exec(self._marks.done, params=params)
        self.marked = bool(result.rowcount == 1)
        return self.marked

    def params(self, **values: object) -> dict[str, object]:
        return {"b_id": self._row_id, "b_attempts": self._attempts, **values}


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
        self._marks = _Marks.build()

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
        claim = EventClaim(self._marks, row_id, row.attempts, self._clock)
        error: str | None = None
        try:
            if handler is None:
                raise RuntimeError(f"no handler for channel {row.channel!r}")
            await handler.process(row.payload, claim)
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
        result = InboxResult.RETRY
        if error is None:
            result = InboxResult.DONE
            if not claim.marked:  # a turn that marked it committed the mark with it
                await self._completions.execute(self._marks.done, claim.params(b_at=now))
        elif row.attempts >= MAX_ATTEMPTS:
            result = InboxResult.FAILED
            await self._completions.execute(self._marks.failed, claim.params(b_error=error))
        else:
            delay = backoff(row.attempts)
            self._loop.wake_in(delay.total_seconds())
            await self._completions.execute(
                self._marks.retry, claim.params(b_due=now + delay, b_error=error)
            )
        self._metrics.inbox_processed(row.channel, result)


@dataclass(frozen=True)
class _Marks:
    """How a claimed event is recorded, fenced by its claim (same attempt, still
    processing): statement objects made once, so a group commit runs a group's rows
    as one executemany."""

    done: Any
    retry: Any
    failed: Any

    @classmethod
    def build(cls) -> _Marks:
        table = table_of(InboundEvent)
        c = table.c

        def mark(**values: Any) -> Any:
            return (
                update(table)
                .where(
                    c.id == bindparam("b_id"),
                    c.status == InboxStatus.PROCESSING,
                    c.attempts == bindparam("b_attempts"),
                )
                .values(**values)
            )

        error = bindparam("b_error", type_=c.last_error.type)
        return cls(
            done=mark(status=InboxStatus.DONE, last_error=None,
                      processed_at=bindparam("b_at", type_=c.processed_at.type)),
            retry=mark(status=InboxStatus.PENDING, last_error=error,
                       due_at=bindparam("b_due", type_=c.due_at.type)),
            failed=mark(status=InboxStatus.FAILED, last_error=error),
        )  # fmt: skip


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
