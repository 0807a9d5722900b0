"""Claiming due work rows (outbox messages, inbox events) safely across processes.

A row is claimed by one atomic `UPDATE ... WHERE id IN (candidates) RETURNING id` that
moves it from `waiting` to `working` and pushes its due time out by a lease; on
PostgreSQL the candidates are selected `FOR UPDATE SKIP LOCKED`, so concurrent claimers
take different rows instead of waiting for each other. A claimer that dies leaves its
rows `working` until the lease runs out, and then they are claimed again.

Only the oldest open row of each group (a conversation, a sender) is a candidate, so a
group's rows are worked on one at a time and in order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import and_, exists, true, update
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db_outage import describe, is_database_unavailable

T = TypeVar("T")

# How long a failing work loop waits before trying again: a second, doubling to 15 s.
FIRST_FAILURE_PAUSE = 1.0
MAX_FAILURE_PAUSE = 15.0
# The safety poll of a work loop (HELPDESK_WORK_POLL_SECONDS); see WorkLoop.
POLL_SECONDS = 30.0


async def claim_due(
    session: AsyncSession,
    model: Any,
    group: str,
    waiting: str,
    working: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    only: Any = None,
) -> list[int]:
    """Claim up to `limit` due rows of `model` (heads of their `group`); return their ids.

    `model` is a table with `id`, `status`, `due_at` and `attempts` columns; each claim
    counts as an attempt. `only`, a condition on `model`, narrows the candidates (the
    heads of groups are still found among all open rows).
    """
    earlier = aliased(model)
    open_states = (waiting, working)
    head_of_group = ~exists().where(
        and_(
            col(getattr(earlier, group)) == col(getattr(model, group)),
            col(earlier.status).in_(open_states),
            col(earlier.id) < model.id,
        )
    )
    candidates = (
        select(col(model.id))
        .where(col(model.status).in_(open_states), col(model.due_at) <= now)
        .where(head_of_group)
        .where(only if only is not None else true())
        .order_by(col(model.id))
        .limit(limit)
    )
    assert session.bind is not None
    chosen: Any = candidates.scalar_subquery()
    if session.bind.dialect.name == "postgresql":
        # A materialised CTE, so the candidates are chosen once. As an IN (subquery),
        # PostgreSQL may run the locking subquery again as it goes, each run skipping the
        # rows the last one locked, and a claim of 2 took every due head.
        locked = (
            candidates.with_for_update(skip_locked=True, of=model)
            .cte("candidates")
            .prefix_with("MATERIALIZED")
        )
        chosen = select(locked.c.id)
    claim = (
        update(model)
        .where(col(model.id).in_(chosen))
        .where(col(model.status).in_(open_states), col(model.due_at) <= now)
        .values(status=working, attempts=model.attempts + 1, due_at=now + lease)
        .returning(col(model.id))
    )
    rows = (await session.exec(claim)).scalars().all()
    return sorted(int(r) for r in rows)


async def claimed_rows(session: AsyncSession, model: Any, ids: Sequence[int]) -> list[Any]:
    """The claimed rows themselves, read in the claiming transaction in one query (not
    one read per row afterwards), in id order."""
    if not ids:
        return []
    query = select(model).where(col(model.id).in_(ids)).order_by(col(model.id))
    return list((await session.exec(query)).all())


def backoff(attempts: int) -> timedelta:
    """1 s, 2 s, 4 s ... capped at 10 minutes: about two hours of retries in twelve."""
    return timedelta(seconds=min(2 ** max(attempts - 1, 0), 600))


async def work_on(
    claimed: Sequence[T], work: Callable[[T], Awaitable[None]], concurrency: int
) -> None:
    """Run `work` for each claimed row (an id, or what was read with it), up to
    `concurrency` at once.

    Claimed rows head different groups, so working on them side by side keeps each
    group's order; a platform call that takes 100 ms then no longer caps a process at
    ten messages a second.
    """
    gate = asyncio.Semaphore(concurrency)

    async def one(row: T) -> None:
        async with gate:
            await work(row)

    await asyncio.gather(*(one(row) for row in claimed))


class WorkLoop:
    """Runs a claim-and-work `step` whenever work may be due: at once after `notify()` or
    `wake()`, at the time given to `wake_in()`, else every `poll_seconds`. `step` returns
    how many rows it claimed; a batch smaller than `batch` means nothing more was due.

    The poll is only a safety net. New rows announce themselves (`notify`, and through
    `announce` to the other replicas); rows put back for a retry wake their loop at their
    due time (`wake_in`). What nothing announces is a dead replica's claimed rows, once
    their lease runs out: the poll finds those.
    """

    def __init__(
        self,
        step: Callable[[], Awaitable[int]],
        batch: int,
        poll_seconds: float,
        logger: logging.Logger,
        what: str,
    ) -> None:
        self._step = step
        self._batch = batch
        self._poll = poll_seconds
        self._log = logger
        self._what = what
        self._wake = asyncio.Event()
        self._woken = False  # new work, as against a moved deadline
        self._due: float | None = None  # the event loop's time of the earliest retry
        self._stopping = False
        # Tells the other replicas (bot.wakeups); None in one process.
        self.announce: Callable[[], None] | None = None

    def notify(self) -> None:
        """Work was queued here: do it now rather than at the next poll, and tell the
        other replicas (a row may wait behind a row one of them is working on)."""
        self.wake()
        if self.announce is not None:
            self.announce()

    def wake(self) -> None:
        """Work was queued (by another replica): do it now."""
        self._woken = True
        self._wake.set()

    def wake_in(self, seconds: float) -> None:
        """A row becomes due in `seconds`: go round then, even if nobody calls."""
        due = asyncio.get_running_loop().time() + max(seconds, 0.0)
        if self._due is None or due < self._due:
            self._due = due
            self._wake.set()  # a pause in progress takes the earlier deadline

    def stop(self) -> None:
        """Finish the batch in hand, then return from `run`.

        Cancelling mid-batch would abandon database work half way; the rows would be
        retried after their lease, but the connection's close can then wait forever.
        """
        self._stopping = True
        self.wake()

    async def run(self) -> None:
        """Loop until `stop()` (or cancellation)."""
        failures = 0
        while not self._stopping:
            try:
                # Rows queued while a batch runs wake the loop, so a short batch needs no
                # second, empty claim to be sure nothing is left.
                while await self._step() >= self._batch and not self._stopping:
                    pass
                failures = 0
            except Exception as exc:
                # A database outage must not end the loop: the rows wait in their table.
                failures += 1
                if is_database_unavailable(exc):
                    self._log.warning(
                        "%s failed: database unavailable; will retry",
                        self._what,
                        extra={"error": describe(exc), "failures": failures},
                    )
                else:
                    self._log.exception("%s failed; will retry", self._what)
            await self._pause(failures)

    async def _pause(self, failures: int) -> None:
        """Wait for new work, the earliest retry or the poll; after failures, for the
        failure pause (new work still cuts it short)."""
        clock = asyncio.get_running_loop()
        deadline = clock.time() + pause_after(failures, self._poll)
        while not self._woken:
            until = deadline
            if self._due is not None and not failures:
                until = min(until, self._due)
            remaining = until - clock.time()
            if remaining <= 0:
                break
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=remaining)
            except TimeoutError:
                break
        self._woken = False
        self._wake.clear()
        if self._due is not None and self._due <= clock.time():
            self._due = None  # the coming round is the one it asked for


def pause_after(failures: int, poll: float) -> float:
    """How long a work loop sleeps (unless notified) after `failures` failed rounds in a
    row: the poll interval when the last round worked; else a second, doubled per failure
    up to a cap, so an outage is retried soon but without a tight loop of errors. New work
    (`notify`) still wakes the loop at once."""
    if failures <= 0:
        return poll
    return min(FIRST_FAILURE_PAUSE * 2.0 ** (failures - 1), MAX_FAILURE_PAUSE)


class LoopingWorker:
    """Base of the services that claim and work rows in a `WorkLoop` (the inbox, the
    outbox, the Slack poster): the loop's controls, in one place."""

    _loop: WorkLoop

    @property
    def loop(self) -> WorkLoop:
        return self._loop

    def notify(self) -> None:
        """Work was queued: do it now rather than at the next poll."""
        self._loop.notify()

    async def run(self) -> None:
        """Work due rows until `stop()`."""
        await self._loop.run()

    def stop(self) -> None:
        """Return from `run` once the batch in hand is done."""
        self._loop.stop()
