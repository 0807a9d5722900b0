"""The support KPIs, computed from the conversation records.

Definitions (the README repeats them):

* **Period**: conversations *opened* in `[start, end)`.
* **Self-resolution rate**: conversations resolved without a handoff, in which the bot
  gave at least one FAQ answer, and after which the same customer started no other
  conversation (on any channel) within the FCR window — divided by all conversations
  in the period.
* **Containment rate**: conversations with no handoff, whatever their outcome, divided by
  all conversations. **Handoff rate**: conversations with a handoff, divided by all. The
  two add up to exactly 100%.
* **FCR**: resolved conversations not followed by another conversation of the same
  customer opened within the window (default 7 days) after they closed (one opened
  while they were still open, on another channel, is not a follow-up) — divided by resolved
  conversations whose window has closed by `now`. Reported for bot-resolved (no
  handoff) and agent-resolved (handed off) conversations separately. (A message after
  resolution always opens a new conversation, so a "reopen" is such a follow-up.) A
  returning customer's answer overrides the window (bot.returning): a conversation they
  said follows up this one counts as its follow-up whenever it came; one they said is a
  new matter does not count.
* **First response time**: handoff request to the first agent reply to the customer.
  **Resolution time**: opened to resolved. Both as median and 90th percentile.
* **NPS**: % promoters (9–10) − % detractors (0–6), one decimal. **CSAT**: % of scores
  4 or 5. **CES** (1–7, 7 = very easy): the mean, two decimals, and the % of scores 5–7
  ("easy"), overall, by channel and by resolution type (bot: never handed off; agent:
  handed off). Response rate: responses / surveys sent.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import or_
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.models import (
    Conversation,
    ConversationStatus,
    Handoff,
    Message,
    Role,
    Survey,
    SurveyKind,
    UnansweredQuestion,
    table_of,
)
from faq.decision import Decision
from surveys.comment_report import CommentTerms, comment_terms
from surveys.comment_terms import CommentAnalyzer
from surveys.rules import Segment, segment_of

DEFAULT_FCR_WINDOW = timedelta(days=7)


def percent(part: int, whole: int) -> float | None:
    """`part` of `whole` in percent, one decimal; None when there is nothing to divide."""
    return round(100.0 * part / whole, 1) if whole else None


def nps(scores: Sequence[int]) -> float | None:
    """Net Promoter Score: % promoters (9-10) minus % detractors (0-6), one decimal."""
    if not scores:
        return None
    promoters = sum(1 for s in scores if s >= 9)
    detractors = sum(1 for s in scores if s <= 6)
    return round(100.0 * (promoters - detractors) / len(scores), 1)


def csat(scores: Sequence[int]) -> float | None:
    """CSAT: % of 1-5 scores that are 4 or 5, one decimal."""
    return percent(sum(1 for s in scores if s >= 4), len(scores))


@dataclass(frozen=True)
class CesAnswer:
    channel: str
    handed_off: bool
    score: int


@dataclass(frozen=True)
class Ces:
    """CES over some answers: the mean (two decimals) and the share of 5-7 scores."""

    responses: int
    mean: float | None
    easy_rate: float | None

    @classmethod
    def of(cls, scores: Sequence[int]) -> Ces:
        if not scores:
            return cls(0, None, None)
        # "easy": the upper three of the 1-7 scale, its promoters (surveys.rules)
        easy = sum(1 for s in scores if segment_of(SurveyKind.CES, s) is Segment.PROMOTERS)
        return cls(len(scores), round(sum(scores) / len(scores), 2), percent(easy, len(scores)))


def quantile(values: Sequence[float], q: float) -> float | None:
    """The q-quantile by linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class Durations:
    """Seconds: median and 90th percentile over `count` conversations."""

    count: int
    median: float | None
    p90: float | None

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Durations:
        return cls(len(seconds), quantile(seconds, 0.5), quantile(seconds, 0.9))


@dataclass(frozen=True)
class Fcr:
    eligible: int  # resolved, window closed
    first_contact: int  # ... and no follow-up conversation within the window

    @property
    def rate(self) -> float | None:
        return percent(self.first_contact, self.eligible)


@dataclass(frozen=True)
class KpiReport:
    start: datetime
    end: datetime
    conversations: int
    self_resolved: int
    contained: int
    handed_off: int
    fcr_bot: Fcr
    fcr_agent: Fcr
    first_response: Durations
    resolution: Durations
    surveys_sent: int = 0
    csat_scores: tuple[int, ...] = ()
    nps_scores: tuple[int, ...] = ()
    ces_answers: tuple[CesAnswer, ...] = ()
    volume: dict[str, dict[str, int]] = field(default_factory=dict)  # day -> channel -> n
    faq_hits: list[tuple[str, int]] = field(default_factory=list)
    faq_not_helpful: list[tuple[str, int]] = field(default_factory=list)
    unanswered: list[tuple[str, int]] = field(default_factory=list)
    # Recurring terms of the survey comments per segment; empty unless asked for.
    comments: CommentTerms = field(default_factory=dict)

    @property
    def self_resolution_rate(self) -> float | None:
        return percent(self.self_resolved, self.conversations)

    @property
    def containment_rate(self) -> float | None:
        return percent(self.contained, self.conversations)

    @property
    def handoff_rate(self) -> float | None:
        return percent(self.handed_off, self.conversations)

    @property
    def csat(self) -> float | None:
        return csat(self.csat_scores)

    @property
    def nps(self) -> float | None:
        return nps(self.nps_scores)

    @property
    def ces(self) -> Ces:
        return Ces.of([a.score for a in self.ces_answers])

    @property
    def ces_by_channel(self) -> dict[str, Ces]:
        channels = sorted({a.channel for a in self.ces_answers})
        return {
            c: Ces.of([a.score for a in self.ces_answers if a.channel == c]) for c in channels
        }

    @property
    def ces_by_resolution(self) -> dict[str, Ces]:
        """"bot" (never handed off) and "agent" (handed off)."""
        return {
            "bot": Ces.of([a.score for a in self.ces_answers if not a.handed_off]),
            "agent": Ces.of([a.score for a in self.ces_answers if a.handed_off]),
        }

    @property
    def survey_responses(self) -> int:
        return len(self.csat_scores) + len(self.nps_scores) + len(self.ces_answers)

    @property
    def survey_response_rate(self) -> float | None:
        return percent(self.survey_responses, self.surveys_sent)


@dataclass(frozen=True, slots=True)
class _Row:
    id: int
    channel: str
    status: str
    opened_at: datetime
    closed_at: datetime | None


async def summary(
    session: AsyncSession,
    start: datetime,
    end: datetime,
    now: datetime,
    *,
    channel: str | None = None,
    fcr_window: timedelta = DEFAULT_FCR_WINDOW,
    timezone: tzinfo | None = None,
    top: int = 10,
    comments: CommentAnalyzer | None = None,
) -> KpiReport:
    """The KPIs of conversations opened in `[start, end)` (on `channel`, if given);
    with `comments`, the survey comments analysed too (surveys.comment_report)."""
    in_period = [col(Conversation.opened_at) >= start, col(Conversation.opened_at) < end]
    if channel is not None:
        in_period.append(col(Conversation.channel) == channel)
    # Plain rows, not ORM objects: a period can hold a hundred thousand conversations.
    query = (
        sa_select(
            col(Conversation.id), col(Conversation.channel), col(Conversation.status),
            col(Conversation.opened_at), col(Conversation.closed_at),
        )
        .where(*in_period)
        .order_by(col(Conversation.id))
    )  # fmt: skip
    connection = await session.connection()
    conversations = [
        _Row(cid, channel_, status, opened, closed)
        for cid, channel_, status, opened, closed in (await connection.execute(query)).all()
        if cid is not None
    ]
    # The period as a sub-select: the related queries filter by it in the database.
    ids = select(Conversation.id).where(*in_period).scalar_subquery()
    handoffs = await _handoffs(session, ids)
    answered = await _answered(session, ids)
    follow_ups = await _next_opened(session, ids)
    confirmed = await _confirmed_follow_ups(session, ids)

    self_resolved = contained = 0
    fcr_bot, fcr_agent = [0, 0], [0, 0]
    resolution_seconds: list[float] = []
    for c in conversations:
        handed = c.id in handoffs
        contained += not handed
        if c.status != ConversationStatus.RESOLVED or c.closed_at is None:
            continue
        resolution_seconds.append((c.closed_at - c.opened_at).total_seconds())
        nxt = follow_ups.get(c.id)
        no_follow_up = (nxt is None or nxt >= c.closed_at + fcr_window) and (
            c.id not in confirmed
        )
        if not handed and c.id in answered and no_follow_up:
            self_resolved += 1
        if c.closed_at + fcr_window <= now:
            tally = fcr_agent if handed else fcr_bot
            tally[0] += 1
            tally[1] += no_follow_up
    first_response = [
        (h.first_response_at - h.requested_at).total_seconds()
        for h in handoffs.values()
        if h.first_response_at is not None
    ]
    return KpiReport(
        start=start,
        end=end,
        conversations=len(conversations),
        self_resolved=self_resolved,
        contained=contained,
        handed_off=len(conversations) - contained,
        fcr_bot=Fcr(*fcr_bot),
        fcr_agent=Fcr(*fcr_agent),
        first_response=Durations.of(first_response),
        resolution=Durations.of(resolution_seconds),
        **await _surveys(session, ids, handoffs.keys()),
        volume=_volume(conversations, timezone),
        faq_hits=await _faq_hits(session, ids, top),
        faq_not_helpful=await _not_helpful(session, ids, top),
        unanswered=await _unanswered(session, ids, top),
        comments=(
            {} if comments is None
            else await comment_terms(session, start, end, comments, channel=channel)
        ),
    )  # fmt: skip


async def _surveys(
    session: AsyncSession, ids: Any, handed_off: Collection[int]
) -> dict[str, Any]:
    """Surveys of the period's conversations: how many went out, and the answers."""
    query = select(Survey.kind, Survey.score, Survey.channel, Survey.conversation_id).where(
        col(Survey.conversation_id).in_(ids), col(Survey.sent_at).is_not(None)
    )
    sent = 0
    csat_scores: list[int] = []
    nps_scores: list[int] = []
    ces_answers: list[CesAnswer] = []
    for kind, score, channel, conversation_id in (await session.exec(query)).all():
        sent += 1
        if score is None:
            continue
        if kind == SurveyKind.NPS:
            nps_scores.append(score)
        elif kind == SurveyKind.CES:
            ces_answers.append(CesAnswer(channel, conversation_id in handed_off, score))
        else:
            csat_scores.append(score)
    return {
        "surveys_sent": sent,
        "csat_scores": tuple(csat_scores),
        "nps_scores": tuple(nps_scores),
        "ces_answers": tuple(ces_answers),
    }


async def _handoffs(session: AsyncSession, ids: Any) -> dict[int, Handoff]:
    """The first handoff of each conversation that has one."""
    rows = (
        await session.exec(
            select(Handoff)
            .where(col(Handoff.conversation_id).in_(ids))
            .order_by(col(Handoff.requested_at), col(Handoff.id))
        )
    ).all()
    first: dict[int, Handoff] = {}
    for row in rows:
        first.setdefault(row.conversation_id, row)
    return first


async def _answered(session: AsyncSession, ids: Any) -> set[int]:
    query = select(Message.conversation_id).where(
        col(Message.conversation_id).in_(ids),
        Message.role == Role.BOT,
        Message.decision == Decision.ANSWER,
    )
    return set((await session.exec(query)).all())


async def _next_opened(session: AsyncSession, ids: Any) -> dict[int, datetime]:
    """For each closed conversation of the period, when the same customer next opened
    another one (any channel) at or after its close, if ever: its follow-up, if that
    came within the window. A conversation opened while this one was still open (the
    customer wrote on LINE during a web chat) is not a follow-up of it: both were the
    first contact."""
    later = aliased(Conversation)
    opened = col(later.opened_at)
    # type_: without it SQLite hands the timestamp back as text
    timestamp = table_of(Conversation).c.opened_at.type
    following = (
        select(func.min(opened, type_=timestamp))
        .where(
            col(later.customer_id) == col(Conversation.customer_id),
            col(later.id) != col(Conversation.id),
            opened >= col(Conversation.closed_at),
            # The customer said it was a new matter when asked about this one.
            or_(
                col(later.returning_of).is_(None),
                col(later.returning_of) != col(Conversation.id),
                col(later.follow_up).is_not(False),
            ),
        )
        .correlate(Conversation)
        .scalar_subquery()
        .label("next_opened")
    )
    query = select(col(Conversation.id), following).where(
        col(Conversation.id).in_(ids), col(Conversation.closed_at).is_not(None)
    )
    rows = (await session.exec(query)).all()
    return {cid: nxt for cid, nxt in rows if cid is not None and nxt is not None}


async def _confirmed_follow_ups(session: AsyncSession, ids: Any) -> set[int]:
    """The period's conversations a later one was confirmed to follow up (the customer
    said "yes" when asked, bot.returning), whenever it came."""
    query = select(Conversation.returning_of).where(
        col(Conversation.returning_of).in_(ids), col(Conversation.follow_up).is_(True)
    )
    return {cid for cid in (await session.exec(query)).all() if cid is not None}


def _volume(conversations: list[_Row], timezone: tzinfo | None) -> dict[str, dict[str, int]]:
    volume: dict[str, Counter[str]] = {}
    for c in conversations:
        day = c.opened_at.astimezone(timezone).date().isoformat()
        volume.setdefault(day, Counter())[c.channel] += 1
    return {day: dict(counts) for day, counts in sorted(volume.items())}


async def _faq_hits(session: AsyncSession, ids: Any, top: int) -> list[tuple[str, int]]:
    query = select(Message.faq_entry_id).where(
        col(Message.conversation_id).in_(ids),
        Message.role == Role.BOT,
        Message.decision == Decision.ANSWER,
    )
    counts = Counter(e for e in (await session.exec(query)).all() if e)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]


async def _not_helpful(session: AsyncSession, ids: Any, top: int) -> list[tuple[str, int]]:
    query = select(Message.postback).where(
        col(Message.conversation_id).in_(ids),
        Message.role == Role.CUSTOMER,
        col(Message.postback).startswith("helpful:no:"),
    )
    counts = Counter(p.removeprefix("helpful:no:") for p in (await session.exec(query)).all() if p)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]


async def _unanswered(session: AsyncSession, ids: Any, top: int) -> list[tuple[str, int]]:
    from faq.unanswered import UnansweredItem, group_questions

    rows = (
        await session.exec(
            select(UnansweredQuestion).where(col(UnansweredQuestion.conversation_id).in_(ids))
        )
    ).all()
    items = [
        UnansweredItem(r.text, r.locale, tuple(str(c["id"]) for c in r.candidates)) for r in rows
    ]
    return [(g.representative, g.count) for g in group_questions(items)[:top]]
