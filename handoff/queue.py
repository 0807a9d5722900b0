"""The agents' queue: conversations handed off and not yet claimed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.models import Conversation, ConversationStatus, Handoff, Message, Role
from handoff.history import PastCase, past_cases


@dataclass(frozen=True)
class QueuedCase:
    handoff_id: int
    conversation_id: int
    customer_id: int
    channel: str
    locale: str
    reason: str
    requested_at: datetime
    last_customer_text: str | None
    # The customer's earlier cases, newest first, and the one this follows up, if the
    # customer said so (bot.returning).
    earlier_cases: tuple[PastCase, ...] = ()
    follows_up: int | None = None


async def waiting_cases(session: AsyncSession) -> list[QueuedCase]:
    """Waiting conversations, oldest handoff first."""
    query = (
        select(Conversation, Handoff)
        .join(Handoff, col(Handoff.conversation_id) == col(Conversation.id))
        .where(
            Conversation.status == ConversationStatus.WAITING,
            col(Handoff.claimed_at).is_(None),
            col(Handoff.closed_at).is_(None),
        )
        .order_by(col(Handoff.requested_at), col(Handoff.id))
    )
    cases = []
    for conversation, handoff in (await session.exec(query)).all():
        assert conversation.id is not None and handoff.id is not None
        cases.append(
            QueuedCase(
                handoff_id=handoff.id,
                conversation_id=conversation.id,
                customer_id=conversation.customer_id,
                channel=conversation.channel,
                locale=conversation.locale,
                reason=handoff.reason,
                requested_at=handoff.requested_at,
                last_customer_text=await _last_customer_text(session, conversation.id),
                earlier_cases=tuple(
                    await past_cases(session, conversation.customer_id, before=conversation.id)
                ),
                follows_up=conversation.returning_of if conversation.follow_up else None,
            )
        )
    return cases


async def waiting_count(session: AsyncSession) -> int:
    """How many cases `waiting_cases` would list: the agents' queue length."""
    query = (
        select(func.count())
        .select_from(Conversation)
        .join(Handoff, col(Handoff.conversation_id) == col(Conversation.id))
        .where(
            Conversation.status == ConversationStatus.WAITING,
            col(Handoff.claimed_at).is_(None),
            col(Handoff.closed_at).is_(None),
        )
    )
    return int((await session.exec(query)).one())


async def _last_customer_text(session: AsyncSession, conversation_id: int) -> str | None:
    query = (
        select(Message.text)
        .where(Message.conversation_id == conversation_id, Message.role == Role.CUSTOMER)
        .order_by(col(Message.id).desc())
        .limit(1)
    )
    return (await session.exec(query)).first()


async def queue_position(session: AsyncSession, handoff_id: int) -> int:
    """The case's place among unclaimed open cases, oldest first (1 = next)."""
    handoff = await session.get(Handoff, handoff_id)
    if handoff is None:
        return 0
    query = select(func.count()).where(
        col(Handoff.claimed_at).is_(None),
        col(Handoff.closed_at).is_(None),
        or_(
            col(Handoff.requested_at) < handoff.requested_at,
            and_(col(Handoff.requested_at) == handoff.requested_at, col(Handoff.id) <= handoff_id),
        ),
    )
    return int((await session.exec(query)).one())
