"""One row per conversation for the CSV export: outcome, channel, times, FAQ entries,
handoff, agent, survey score, segment and comment with its terms, and the earlier case a
returning customer said it follows up."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.models import Conversation, Handoff, Message, Role, Survey
from faq.decision import Decision
from surveys.comment_terms import CommentAnalyzer, Term
from surveys.rules import segment_of


async def conversation_rows(
    session: AsyncSession,
    start: datetime,
    end: datetime,
    channel: str | None,
    analyzer: CommentAnalyzer,
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
    comments = [s.comment for s in surveys.values() if s.comment]
    # Tokenizing is CPU work: off the event loop, in one go.
    analysed = await asyncio.to_thread(lambda: {t: analyzer.terms(t) for t in comments})
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
                **_comment_columns(surveys.get(c.id), analysed),
                "follows_up": c.returning_of if c.follow_up else "",
            }
        )
    return rows


def _comment_columns(
    survey: Survey | None, analysed: dict[str, tuple[Term, ...]]
) -> dict[str, str]:
    if survey is None or survey.score is None:
        return {"survey_segment": "", "survey_comment": "", "comment_terms": ""}
    try:
        segment = segment_of(survey.kind, survey.score)
    except ValueError:  # a kind this release does not know
        segment = None
    comment = survey.comment or ""
    return {
        "survey_segment": segment.value if segment else "",
        "survey_comment": comment,
        "comment_terms": "; ".join(t.label for t in analysed.get(comment, ())),
    }
