"""Waiting until the app's queued work is done: nothing in flight, nothing claimable."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists
from sqlalchemy.orm import aliased
from sqlmodel import col, func, select

from bot.db import SessionFactory

OPEN = ("pending", "processing", "sending")
WORKING = ("processing", "sending")


async def unsettled(
    sessions: SessionFactory, models: tuple[tuple[Any, str], ...], now: datetime
) -> int:
    """Rows being worked on, or that a claim would take now (due and first open row of
    their group: `(model, group column)` pairs, as `bot.claims.claim_due` groups them).

    The second half matters on PostgreSQL: a row the app's own loop is claiming is
    skipped by our claim (SKIP LOCKED) before it shows as in flight.

    One statement counts every table, so all are read at one instant: counted one query
    after another, a turn that commits between two (its event done, its reply queued,
    together) would be missed by both."""
    counts = []
    async with sessions() as session:
        for model, group in models:
            earlier = aliased(model)
            head = ~exists().where(
                and_(
                    col(getattr(earlier, group)) == col(getattr(model, group)),
                    col(earlier.status).in_(OPEN),
                    col(earlier.id) < model.id,
                )
            )
            claimable = col(model.status).in_(OPEN) & (col(model.due_at) <= now) & head
            counts.append(
                select(func.count())
                .select_from(model)
                .where(col(model.status).in_(WORKING) | claimable)
                .scalar_subquery()
            )
        return int((await session.exec(select(sum(counts[1:], counts[0])))).one())
