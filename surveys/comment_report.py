"""The comments of a period's surveys, analysed (surveys.comment_terms) for the reports.

The period is the KPI report's: surveys of conversations opened in `[start, end)`; the
trend compares it with the period of the same length just before. The analysis runs on
a worker thread: tokenizing is CPU work, and the event loop must keep serving chats.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.models import Conversation, Survey
from surveys.comment_terms import (
    Comment,
    CommentAnalyzer,
    Segment,
    TermCount,
    analyse_comments,
    segment_of,
)

# Terms listed per segment.
TOP_TERMS = 10
# A period with more comments than this is analysed on its newest ones.
MAX_COMMENTS = 20_000

CommentTerms = dict[Segment, list[TermCount]]


async def period_comments(
    session: AsyncSession, start: datetime, end: datetime, channel: str | None
) -> list[Comment]:
    """The scored comments of surveys of conversations opened in `[start, end)`."""
    query = (
        select(Survey.kind, Survey.score, Survey.comment, Survey.answered_at)
        .join(Conversation, col(Conversation.id) == col(Survey.conversation_id))
        .where(
            col(Conversation.opened_at) >= start,
            col(Conversation.opened_at) < end,
            col(Survey.comment).is_not(None),
            col(Survey.score).is_not(None),
        )
        .order_by(col(Survey.answered_at).desc())
        .limit(MAX_COMMENTS)
    )
    if channel is not None:
        query = query.where(col(Conversation.channel) == channel)
    comments = []
    for kind, score, text, answered_at in (await session.exec(query)).all():
        if text is None or score is None or answered_at is None or not text.strip():
            continue
        try:
            segment = segment_of(kind, score)
        except ValueError:  # a kind this release does not know (written by a newer one)
            continue
        comments.append(Comment(segment, text, answered_at))
    return comments


async def comment_terms(
    session: AsyncSession,
    start: datetime,
    end: datetime,
    analyzer: CommentAnalyzer,
    *,
    channel: str | None = None,
    top: int = TOP_TERMS,
) -> CommentTerms:
    """Recurring terms per segment in `[start, end)`, with the previous period's counts."""
    current = await period_comments(session, start, end, channel)
    previous = await period_comments(session, start - (end - start), start, channel)
    return await asyncio.to_thread(analyse_comments, current, previous, analyzer, top=top)


def comment_terms_json(terms: CommentTerms) -> dict[str, list[dict[str, Any]]]:
    return {
        segment.value: [
            {
                "term": t.term,
                "count": t.count,
                "previous": t.previous,
                "change": t.change,
                "examples": list(t.examples),
            }
            for t in terms.get(segment, [])
        ]
        for segment in Segment
    }
