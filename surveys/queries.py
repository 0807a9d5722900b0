"""Survey queries shared by the planner, the dispatcher and the responder.

A customer is counted through the conversation (`conversation.customer_id`), not the
survey row's own `customer_id`: linking a LINE and a web identity merges customers by
moving their conversations, so surveys sent on either channel then count together.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.models import Conversation, Survey, SurveyStatus

# Rows that were, or will be, put to the customer: they count against the throttle.
COUNTED = (
    SurveyStatus.PLANNED,
    SurveyStatus.SENDING,
    SurveyStatus.SENT,
    SurveyStatus.ANSWERED,
    SurveyStatus.EXPIRED,
)


async def last_due_by_kind(session: AsyncSession, customer_id: int) -> dict[str, datetime]:
    """Kind -> the latest due time of the customer's counted surveys of that kind."""
    query = (
        select(Survey.kind, func.max(Survey.due_at))
        .join(Conversation, col(Conversation.id) == col(Survey.conversation_id))
        .where(Conversation.customer_id == customer_id, col(Survey.status).in_(COUNTED))
        .group_by(col(Survey.kind))
    )
    rows = (await session.exec(query)).all()
    return {kind: due for kind, due in rows if due is not None}


async def last_sent_by_customer(
    session: AsyncSession, customer_ids: Sequence[int], excluding: Sequence[int]
) -> dict[int, datetime]:
    """When each customer was last sent a survey other than those in `excluding`, on any
    channel; a customer never sent one is not in the result."""
    if not customer_ids:
        return {}
    query = (
        select(Conversation.customer_id, func.max(Survey.sent_at))
        .join(Conversation, col(Conversation.id) == col(Survey.conversation_id))
        .where(col(Conversation.customer_id).in_(set(customer_ids)))
        .where(col(Survey.id).not_in(excluding), col(Survey.sent_at).is_not(None))
        .group_by(col(Conversation.customer_id))
    )
    rows = (await session.exec(query)).all()
    return {customer: sent for customer, sent in rows if sent is not None}
