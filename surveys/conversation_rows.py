"""One row per conversation for the CSV export: outcome, channel, times, FAQ entries,
handoff, agent and survey score."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.models import Conversation, Handoff, Message, Role, Survey
from faq.decision import Decision


async def conversation_rows(
    session: AsyncSession, start: datetime, end: datetime, channel: str | None
) -> list[dict[str, Any]]:
    query = select(Conversation).where(
        col(Conversation.opened_at) >= start, col(Conversation.opened_at) < end
    )
    if channel is not None:
        query = query.where(Conversation.channel == channel)
    conversations = list((await session.exec(query.order_by(col(Conversation.id)))).all())
    ids = [c.id for c in conversations]
    handoffs: dict[int, Handoff] = {}
    for row in (
        await session.exec(
            select(Handoff).where(col(Handoff.conversation_id).in_(ids)).order_by(col(Handoff.id))
        )
    ).all():
        handoffs.setdefault(row.conversation_id, row)
    entries: dict[int, list[str]] = {}
    answers = select(Message.conversation_id, Message.faq_entry_id).where(
        col(Message.conversation_id).in_(ids),
        Message.role == Role.BOT,
        Message.decision == Decision.ANSWER,
    )
    for conversation_id, entry_id in (await session.exec(answers)).all():
        if entry_id:
            entries.setdefault(conversation_id, []).append(entry_id)
    surveys = {
        row.conversation_id: row
        for row in (
            await session.exec(select(Survey).where(col(Survey.conversation_id).in_(ids)))
        ).all()
    }
    rows = []
    for c in conversations:
        assert c.id is not None
        h = handoffs.get(c.id)
        rows.append(
            {
                "conversation_id": c.id,
                "customer_id": c.customer_id,
                "channel": c.channel,
                "locale": c.locale,
                "status": c.status,
                "resolution": c.resolution or "",
                "opened_at": c.opened_at.isoformat(),
                "closed_at": c.closed_at.isoformat() if c.closed_at else "",
                "faq_entries": " ".join(entries.get(c.id, [])),
                "handoff_reason": h.reason if h else "",
                "handoff_at": h.requested_at.isoformat() if h else "",
                "first_response_at": (
                    h.first_response_at.isoformat() if h and h.first_response_at else ""
                ),
                "agent": (h.agent_name or h.agent_ref or "") if h else "",
                "survey": surveys[c.id].kind if c.id in surveys else "",
                "survey_status": surveys[c.id].status if c.id in surveys else "",
                "survey_score": (
                    ""
                    if c.id not in surveys or surveys[c.id].score is None
                    else surveys[c.id].score
                ),
            }
        )
    return rows
