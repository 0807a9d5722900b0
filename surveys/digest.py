"""The daily digest: yesterday's KPIs and their change from the same weekday a week
before, posted to the Slack handoff channel.

An APScheduler cron trigger fires `post_yesterday` at the configured local time on every
replica. The post is a `slack_post` row whose dedupe key names the day, so the first
replica's insert wins and the others' are no-ops; the Slack poster then retries it
like any other post until Slack takes it. A server that was down at that time posts the
digest when it starts (`catch_up`, also run every few minutes in case the cron run failed),
and the same key keeps it to one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import Clock
from bot.db import SessionFactory
from bot.models import OutboxStatus, SlackPost, SlackPostKind
from channels.slack.mrkdwn import quote
from surveys.comment_terms import CommentAnalyzer
from surveys.kpis import DEFAULT_FCR_WINDOW, Durations, KpiReport, summary
from surveys.report_table import duration_text, rate_text
from surveys.rules import Segment

# The digest lists this many of the day's unanswered questions.
TOP_UNANSWERED = 3
# The digest lists this many comment terms of detractors and of promoters.
DIGEST_TERMS = 5
# A customer's question quoted in Slack is cut to this length.
MAX_QUOTED_CHARS = 120


@dataclass(frozen=True)
class DigestSchedule:
    """When the digest goes out: a local time of day in the business time zone."""

    at: time
    timezone: tzinfo


@dataclass(frozen=True)
class DayFigures:
    """The reports a digest compares: the day, the same weekday a week before, and the
    FCR cohorts (conversations old enough for their FCR window to have closed)."""

    day: date
    report: KpiReport
    week_before: KpiReport
    fcr_day: date
    fcr: KpiReport
    fcr_week_before: KpiReport


def dedupe_key(day: date) -> str:
    return f"digest:{day.isoformat()}"


class DailyDigest:
    def __init__(
        self,
        sessions: SessionFactory,
        schedule: DigestSchedule,
        clock: Clock,
        logger: logging.Logger,
        analyzer: CommentAnalyzer | None = None,
        fcr_window: timedelta = DEFAULT_FCR_WINDOW,
    ) -> None:
        self._analyzer = analyzer
        self._sessions = sessions
        self._schedule = schedule
        self._clock = clock
        self._log = logger
        self._fcr_window = fcr_window

    def yesterday(self) -> date:
        return self._clock().astimezone(self._schedule.timezone).date() - timedelta(days=1)

    async def post_yesterday(self) -> bool:
        """The cron job: queue yesterday's digest unless a replica already did."""
        return await self.post_for(self.yesterday())

    async def catch_up(self) -> bool:
        """If today's digest time has passed, make sure yesterday's digest went out (at
        start, and now and then after, in case the cron job's run failed or was missed)."""
        local_now = self._clock().astimezone(self._schedule.timezone)
        if local_now.time() < self._schedule.at:
            return False
        day = self.yesterday()
        async with self._sessions() as session:
            queued = select(SlackPost.id).where(SlackPost.dedupe_key == dedupe_key(day))
            if (await session.exec(queued)).first() is not None:
                return False
        return await self.post_for(day)

    async def post_for(self, day: date) -> bool:
        """Queue the digest of `day`; False if it was queued before (by any replica)."""
        async with self._sessions() as session:
            figures = await self._figures(session, day)
        text = digest_text(figures)
        now = self._clock()
        async with self._sessions() as session, session.begin():
            assert session.bind is not None
            insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
            statement = (
                insert(SlackPost)
                .values(
                    conversation_id=None, handoff_id=None, kind=SlackPostKind.DIGEST,
                    payload={"text": text}, status=OutboxStatus.PENDING, attempts=0,
                    due_at=now, created_at=now, dedupe_key=dedupe_key(day),
                )
                .on_conflict_do_nothing(index_elements=["dedupe_key"])
            )  # fmt: skip
            queued = int((await session.exec(statement)).rowcount) == 1
        self._log.info(
            "daily digest queued" if queued else "daily digest already queued",
            extra={"day": day.isoformat()},
        )
        return queued

    async def _figures(self, session: AsyncSession, day: date) -> DayFigures:
        week = timedelta(days=7)
        # The first day whose conversations' FCR windows have all closed by now.
        fcr_day = day - timedelta(days=max(1, -(-self._fcr_window // timedelta(days=1))))
        return DayFigures(
            day=day,
            report=await self._report(session, day, comments=self._analyzer),
            week_before=await self._report(session, day - week),
            fcr_day=fcr_day,
            fcr=await self._report(session, fcr_day),
            fcr_week_before=await self._report(session, fcr_day - week),
        )

    async def _report(
        self, session: AsyncSession, day: date, comments: CommentAnalyzer | None = None
    ) -> KpiReport:
        tz = self._schedule.timezone
        start = datetime.combine(day, time(0), tzinfo=tz)
        return await summary(
            session, start, start + timedelta(days=1), self._clock(),
            fcr_window=self._fcr_window, timezone=tz, top=TOP_UNANSWERED, comments=comments,
        )  # fmt: skip


def digest_text(f: DayFigures) -> str:
    """The digest in Slack mrkdwn: each figure with its change from a week before."""
    now, before = f.report, f.week_before
    versus = f"vs {_day_name(f.day - timedelta(days=7))}"
    lines = [
        f":bar_chart: *Daily support digest for {_day_name(f.day)}* (changes {versus})",
        f"• Conversations: *{now.conversations}* ({_count_change(now.conversations, before.conversations)})",  # noqa: E501
        _rate_line("Self-resolution", now.self_resolution_rate, before.self_resolution_rate),
        _rate_line("Handoff rate", now.handoff_rate, before.handoff_rate),
        _duration_line("First response", now.first_response, before.first_response),
        _duration_line("Resolution time", now.resolution, before.resolution),
        _rate_line("CSAT", now.csat, before.csat, f" (n={len(now.csat_scores)})"),
        _nps_line(now, before),
        _ces_line(now, before),
        _rate_line(
            "Survey response rate", now.survey_response_rate, before.survey_response_rate
        ),
        _rate_line(
            f"FCR, bot-resolved ({_day_name(f.fcr_day)}, window closed)",
            f.fcr.fcr_bot.rate, f.fcr_week_before.fcr_bot.rate,
            f" (n={f.fcr.fcr_bot.eligible})",
        ),
        _rate_line(
            f"FCR, agent-resolved ({_day_name(f.fcr_day)}, window closed)",
            f.fcr.fcr_agent.rate, f.fcr_week_before.fcr_agent.rate,
            f" (n={f.fcr.fcr_agent.eligible})",
        ),
    ]  # fmt: skip
    if now.unanswered:
        lines.append("Top unanswered questions:")
        lines += [f"• {n}× {_quote(q)}" for q, n in now.unanswered]
    # Comment terms: count, and change from the day before (the comments' own trend).
    for segment, heading in ((Segment.DETRACTORS, "Detractors mention"),
                             (Segment.PROMOTERS, "Promoters mention")):  # fmt: skip
        terms = now.comments.get(segment, [])[:DIGEST_TERMS]
        if terms:
            listed = ", ".join(f"{_quote(t.term)} ({t.count}, {t.change:+d})" for t in terms)
            lines.append(f"{heading}: {listed}")
    return "\n".join(lines)


def _day_name(day: date) -> str:
    return day.strftime("%a %d %b %Y")


def _count_change(now: int, before: int) -> str:
    if before == 0:
        return f"{now - before:+d}"
    return f"{now - before:+d}, {100.0 * (now - before) / before:+.0f}%"


def _rate_line(name: str, now: float | None, before: float | None, suffix: str = "") -> str:
    change = "—" if now is None or before is None else f"{now - before:+.1f} pts"
    return f"• {name}: *{rate_text(now)}*{suffix} ({change})"


def _nps_line(now: KpiReport, before: KpiReport) -> str:
    value = "—" if now.nps is None else f"{now.nps:+.1f}"
    change = "—" if now.nps is None or before.nps is None else f"{now.nps - before.nps:+.1f}"
    return f"• NPS: *{value}* (n={len(now.nps_scores)}) ({change})"


def _ces_line(now: KpiReport, before: KpiReport) -> str:
    ces, earlier = now.ces, before.ces
    value = "—" if ces.mean is None else f"{ces.mean:.2f}"
    change = "—" if ces.mean is None or earlier.mean is None else f"{ces.mean - earlier.mean:+.2f}"
    return f"• CES (1–7): *{value}*, {rate_text(ces.easy_rate)} easy (n={ces.responses}) ({change})"


def _duration_line(name: str, now: Durations, before: Durations) -> str:
    if now.median is None or before.median is None:
        change = "—"
    else:
        delta = now.median - before.median
        change = ("+" if delta >= 0 else "-") + duration_text(abs(delta))
    return (
        f"• {name}: median *{duration_text(now.median)}*, p90 {duration_text(now.p90)} "
        f"(n={now.count}) (median {change})"
    )


def _quote(question: str) -> str:
    # Customer text in mrkdwn: escaped (no pings, no links) and on one line.
    return quote(" ".join(question.split()), MAX_QUOTED_CHARS)
