"""Reading the unanswered questions the engine recorded, for `helpdesk faq unanswered`."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from bot.db import make_session_factory
from bot.models import UnansweredQuestion
from faq.unanswered import UnansweredItem


async def load_unanswered(
    engine: AsyncEngine, days: int, now: datetime
) -> list[UnansweredItem]:
    """Unanswered questions recorded in the `days` days before `now`, oldest first."""
    since = now - timedelta(days=days)
    query = (
        select(UnansweredQuestion)
        .where(col(UnansweredQuestion.created_at) >= since)
        .order_by(col(UnansweredQuestion.id))
    )
    async with make_session_factory(engine)() as session:
        rows = (await session.exec(query)).all()
    return [
        UnansweredItem(
            text=row.text,
            locale=row.locale,
            candidates=tuple(str(c["id"]) for c in row.candidates),
        )
        for row in rows
    ]
