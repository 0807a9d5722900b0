"""Figures for the agents' desk: one day's volume, handoffs and first response time."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.models import Conversation, Handoff


@dataclass(frozen=True)
class DayStats:
    conversations: int  # conversations opened in the period
    handoffs: int  # cases handed to people in the period
    answered: int  # of those, cases an agent has answered
    median_first_response: timedelta | None  # handoff to first agent reply


async def day_stats(session: AsyncSession, start: datetime, end: datetime) -> DayStats:
    """Figures for conversations and handoffs that started in [start, end)."""
    opened = select(func.count()).where(
        col(Conversation.opened_at) >= start, col(Conversation.opened_at) < end
    )
    handoffs = (
        await session.exec(
            select(Handoff.requested_at, Handoff.first_response_at).where(
                col(Handoff.requested_at) >= start, col(Handoff.requested_at) < end
            )
        )
    ).all()
    waits = [(answered - asked).total_seconds() for asked, answered in handoffs if answered]
    return DayStats(
        conversations=int((await session.exec(opened)).one()),
        handoffs=len(handoffs),
        answered=len(waits),
        median_first_response=timedelta(seconds=statistics.median(waits)) if waits else None,
    )
