"""A customer's earlier cases, for the bot's "is this about ...?" and for the agents.

A *case* here is a conversation in which the customer asked something: a message went
to the FAQ matcher, or the conversation was handed to people. Greetings and thanks on
their own are not cases. Cases are counted by customer, so a LINE case and a web chat
case of linked identities are one history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, exists
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.models import Conversation, Handoff, Message, Role, Survey

# A case's topic is the customer's first question, cut to this length.
TOPIC_CHARS = 40
# How many earlier cases the agents see.
SHOWN_CASES = 5


@dataclass(frozen=True)
class PastCase:
    conversation_id: int
    channel: str
    opened_at: datetime
    closed_at: datetime | None
    topic: str  # the customer's first question, cut to TOPIC_CHARS
    outcome: str  # the resolution (self, agent, customer), or the status while open
    handed_off: bool
    survey_kind: str | None
    survey_score: int | None


def _is_case() -> ColumnElement[bool]:
    """The condition on `Conversation` that makes it a case."""
    asked = exists().where(
        col(Message.conversation_id) == col(Conversation.id),
        col(Message.role) == Role.CUSTOMER,
        col(Message.decision).is_not(None),
    )
    handed = exists().where(col(Handoff.conversation_id) == col(Conversation.id))
    return asked | handed


async def latest_closed_case(
    session: AsyncSession, customer_id: int, since: datetime
) -> int | None:
    """The customer's most recent case closed at or after `since`, if any."""
    query = (
        select(Conversation.id)
        .where(
            Conversation.customer_id == customer_id,
            col(Conversation.closed_at) >= since,
            _is_case(),
        )
        .order_by(col(Conversation.closed_at).desc(), col(Conversation.id).desc())
        .limit(1)
    )
    found: int | None = (await session.exec(query)).first()
    return found


async def past_cases(
    session: AsyncSession,
    customer_id: int,
    *,
    before: int | None = None,
    only: int | None = None,
    limit: int = SHOWN_CASES,
) -> list[PastCase]:
    """The customer's cases, newest first: those opened before conversation `before`,
    or just conversation `only`."""
    query = select(Conversation).where(Conversation.customer_id == customer_id, _is_case())
    if before is not None:
        query = query.where(col(Conversation.id) < before)
    if only is not None:
        query = query.where(col(Conversation.id) == only)
    query = query.order_by(col(Conversation.id).desc()).limit(limit)
    conversations = list((await session.exec(query)).all())
    ids = [c.id for c in conversations if c.id is not None]
    if not ids:
        return []
    topics = await _topics(session, ids)
    handed = set(
        (
            await session.exec(
                select(Handoff.conversation_id).where(col(Handoff.conversation_id).in_(ids))
            )
        ).all()
    )
    surveys = {
        cid: (kind, score)
        for cid, kind, score in (
            await session.exec(
                select(Survey.conversation_id, Survey.kind, Survey.score).where(
                    col(Survey.conversation_id).in_(ids)
                )
            )
        ).all()
    }
    cases = []
    for c in conversations:
        assert c.id is not None
        kind, score = surveys.get(c.id, (None, None))
        cases.append(
            PastCase(
                conversation_id=c.id,
                channel=c.channel,
                opened_at=c.opened_at,
                closed_at=c.closed_at,
                topic=topics.get(c.id, ""),
                outcome=c.resolution or c.status,
                handed_off=c.id in handed,
                survey_kind=kind if score is not None else None,
                survey_score=score,
            )
        )
    return cases


async def _topics(session: AsyncSession, ids: list[int]) -> dict[int, str]:
    """Each conversation's first question to the FAQ, or else its first text (a case
    handed off at once: "talk to a person", then the matter)."""
    query = (
        select(Message.conversation_id, Message.text, Message.decision)
        .where(col(Message.conversation_id).in_(ids), col(Message.role) == Role.CUSTOMER)
        .order_by(col(Message.id))
    )
    asked: dict[int, str] = {}
    said: dict[int, str] = {}
    for cid, text, decision in (await session.exec(query)).all():
        if text.startswith("["):  # "[image]", "[follow]": no topic
            continue
        said.setdefault(cid, text)
        if decision is not None:
            asked.setdefault(cid, text)
    return {cid: cut(asked.get(cid) or said[cid]) for cid in said}


def cut(text: str, limit: int = TOPIC_CHARS) -> str:
    """`text` on one line, at most `limit` characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
