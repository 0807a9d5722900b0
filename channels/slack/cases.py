"""Everything an agent should see about a case, read from the database in one go."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.models import Conversation, Customer, Handoff, Identity, Message, Role
from bot.postbacks import PostbackKind, parse_postback
from faq.decision import Decision
from handoff.history import PastCase, past_cases


@dataclass(frozen=True)
class AnswerTried:
    entry_id: str
    text: str
    helped: bool | None  # None: the customer did not say


@dataclass(frozen=True)
class Case:
    conversation_id: int
    handoff_id: int
    customer_id: int
    customer_name: str | None
    channel: str
    locale: str
    linked_channels: tuple[str, ...]  # the customer's other channels
    previous_conversations: int
    reason: str
    requested_at: datetime
    answers: tuple[AnswerTried, ...]
    status: str
    claimed_at: datetime | None
    agent_ref: str | None
    agent_name: str | None
    closed_at: datetime | None
    closed_by: str | None
    # The customer's earlier cases, newest first (handoff.history), and the one this
    # conversation follows up, if the customer said so (bot.returning).
    earlier_cases: tuple[PastCase, ...] = ()
    follows_up: int | None = None


async def load_case(session: AsyncSession, handoff_id: int) -> Case | None:
    handoff = await session.get(Handoff, handoff_id)
    if handoff is None:
        return None
    conversation = await session.get(Conversation, handoff.conversation_id)
    assert conversation is not None and conversation.id is not None
    customer = await session.get(Customer, conversation.customer_id)
    channels = (
        await session.exec(
            select(Identity.channel).where(Identity.customer_id == conversation.customer_id)
        )
    ).all()
    previous = select(func.count()).where(
        Conversation.customer_id == conversation.customer_id,
        col(Conversation.id) < conversation.id,
    )
    assert handoff.id is not None
    return Case(
        conversation_id=conversation.id,
        handoff_id=handoff.id,
        customer_id=conversation.customer_id,
        customer_name=customer.display_name if customer else None,
        channel=conversation.channel,
        locale=conversation.locale,
        linked_channels=tuple(sorted({c for c in channels if c != conversation.channel})),
        previous_conversations=int((await session.exec(previous)).one()),
        reason=handoff.reason,
        requested_at=handoff.requested_at,
        answers=await _answers_tried(session, conversation.id),
        status=conversation.status,
        claimed_at=handoff.claimed_at,
        agent_ref=handoff.agent_ref,
        agent_name=handoff.agent_name,
        closed_at=handoff.closed_at,
        closed_by=handoff.closed_by,
        earlier_cases=tuple(
            await past_cases(session, conversation.customer_id, before=conversation.id)
        ),
        follows_up=conversation.returning_of if conversation.follow_up else None,
    )


async def _answers_tried(session: AsyncSession, conversation_id: int) -> tuple[AnswerTried, ...]:
    messages = (
        await session.exec(
            select(Message)
            .where(Message.conversation_id == conversation_id)
            .order_by(col(Message.id))
        )
    ).all()
    verdicts: dict[str, bool] = {}
    for m in messages:
        postback = parse_postback(m.postback) if m.postback else None
        if m.role == Role.CUSTOMER and postback is not None and postback.entry_id:
            if postback.kind is PostbackKind.HELPFUL:
                verdicts[postback.entry_id] = True
            elif postback.kind is PostbackKind.NOT_HELPFUL:
                verdicts[postback.entry_id] = False
    answers: dict[str, AnswerTried] = {}
    for m in messages:
        if m.role == Role.BOT and m.decision == Decision.ANSWER and m.faq_entry_id:
            answers[m.faq_entry_id] = AnswerTried(
                m.faq_entry_id, m.text, verdicts.get(m.faq_entry_id)
            )
    return tuple(answers.values())


async def transcript(
    session: AsyncSession, conversation_id: int, limit: int | None = None
) -> list[Message]:
    """The conversation's messages, oldest first; the newest `limit` when given."""
    query = select(Message).where(Message.conversation_id == conversation_id)
    if limit is None:
        return list((await session.exec(query.order_by(col(Message.id)))).all())
    newest = (await session.exec(query.order_by(col(Message.id).desc()).limit(limit))).all()
    return list(reversed(newest))
