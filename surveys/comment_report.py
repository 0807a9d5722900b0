"""The comments of a period's surveys, analysed (surveys.comment_terms) for the reports.

The period is the KPI report's: surveys of conversations opened in `[start, end)`; the
trend compares it with the period of the same length just before. The analysis runs on
a worker thread: tokenizing is CPU work, and the event loop must keep serving chats.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.models import Conversation, Survey
from surveys.comment_terms import Comment, CommentAnalyzer, TermCount, analyse_comments
from surveys.rules import Segment, segment_of

# Terms listed per segment.
TOP_TERMS = 10
# Most comments read at once (a period and the one before it, newest first); a busier
# stretch is analysed on its newest ones.
MAX_COMMENTS = 40_000

CommentTerms = dict[Segment, list[TermCount]]


async def period_comments(
    session: AsyncSession, start: datetime, end: datetime, channel: str | None
) -> list[tuple[datetime, Comment]]:
    """The scored comments of surveys of conversations opened in `[start, end)`, each
    with when its conversation was opened."""
    # Core select: SQLModel's typed select takes at most four columns.
    query = (
        sa_select(
            col(Survey.kind), col(Survey.score), col(Survey.comment), col(Survey.answered_at),
            col(Conversation.opened_at),
        )
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
    rows = (await (await session.connection()).execute(query)).all()
    for kind, score, text, answered_at, opened_at in rows:
        if text is None or score is None or answered_at is None or not text.strip():
            continue
        try:
            segment = segment_of(kind, score)
        except ValueError:  # a kind this release does not know (written by a newer one)
            continue
        comments.append((opened_at, Comment(segment, text, answered_at)))
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
    # One read of both periods; the previous one is the same length, just before.
    both = await period_comments(session, start - (end - start), end, channel)
    current = [c for opened, c in both if opened >= start]
    previous = [c for opened, c in both if opened < start]
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
