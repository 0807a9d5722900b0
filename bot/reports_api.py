"""Reports over HTTP (admin token): the KPI summary, daily series and a CSV export.

    GET /api/reports/summary?from=YYYY-MM-DD&to=YYYY-MM-DD&channel=line
    GET /api/reports/daily?from=...&to=...&channel=...
    GET /api/reports/conversations.csv?from=...&to=...&channel=...

Dates are days in the desk's time zone (`HELPDESK_TIMEZONE`), `to` included; without
them the last 7 days up to today.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.admin_api import AdminGuard, json_http
from bot.clock import Clock
from bot.db import SessionFactory
from bot.storable import text_problem
from surveys.comment_report import comment_terms_json
from surveys.comment_terms import CommentAnalyzer
from surveys.conversation_rows import conversation_rows
from surveys.kpis import DEFAULT_FCR_WINDOW, Ces, KpiReport, summary

DEFAULT_DAYS = 7
MAX_DAYS = 366
# A period's bounds are local midnights a day apart and are converted to UTC, so days
# at the very ends of what `date` holds would overflow; no conversation is that old.
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(9999, 12, 30)


class ReportsApi:
    def __init__(
        self,
        sessions: SessionFactory,
        guard: AdminGuard,
        clock: Clock,
        timezone: ZoneInfo,
        analyzer: CommentAnalyzer,
        fcr_window: timedelta = DEFAULT_FCR_WINDOW,
    ) -> None:
        self._analyzer = analyzer
        self._sessions = sessions
        self._guard = guard
        self._clock = clock
        self._tz = timezone
        self._fcr_window = fcr_window

    def register(self, router: web.UrlDispatcher) -> None:
        router.add_get("/api/reports/summary", self.summary)
        router.add_get("/api/reports/daily", self.daily)
        router.add_get("/api/reports/conversations.csv", self.csv)

    async def summary(self, request: web.Request) -> web.Response:
        self._guard.check(request)
        first, last, channel = self._period(request)
        report = await self._report(first, last, channel, comments=True)
        return web.json_response(
            {**report_json(report), "comments": comment_terms_json(report.comments)}
        )

    async def daily(self, request: web.Request) -> web.Response:
        """One summary per day, for charts."""
        self._guard.check(request)
        first, last, channel = self._period(request)
        days = []
        day = first
        while day <= last:
            report = await self._report(day, day, channel)
            days.append({"day": day.isoformat(), **report_json(report)})
            day += timedelta(days=1)
        return web.json_response({"days": days})

    async def csv(self, request: web.Request) -> web.Response:
        self._guard.check(request)
        first, last, channel = self._period(request)
        start, end = self._bounds(first, last)
        async with self._sessions() as session:
            rows = await conversation_rows(session, start, end, channel, self._analyzer)
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else ["conversation_id"])
        writer.writeheader()
        writer.writerows(rows)
        return web.Response(
            text=out.getvalue(),
            content_type="text/csv",
            charset="utf-8",
            headers={"Content-Disposition": 'attachment; filename="conversations.csv"'},
        )

    async def _report(
        self, first: date, last: date, channel: str | None, *, comments: bool = False
    ) -> KpiReport:
        start, end = self._bounds(first, last)
        async with self._sessions() as session:
            return await summary(
                session, start, end, self._clock(), channel=channel,
                fcr_window=self._fcr_window, timezone=self._tz,
                comments=self._analyzer if comments else None,
            )  # fmt: skip

    def _bounds(self, first: date, last: date) -> tuple[datetime, datetime]:
        start = datetime.combine(first, time(0), tzinfo=self._tz)
        end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=self._tz)
        return start, end

    def _period(self, request: web.Request) -> tuple[date, date, str | None]:
        today = self._clock().astimezone(self._tz).date()
        last = _day(request.query.get("to"), "to") or today
        first = _day(request.query.get("from"), "from") or last - timedelta(days=DEFAULT_DAYS - 1)
        if first > last:
            raise json_http(web.HTTPBadRequest, '"from" is after "to"')
        if (last - first).days >= MAX_DAYS:
            raise json_http(web.HTTPBadRequest, f"the period is longer than {MAX_DAYS} days")
        channel = request.query.get("channel") or None
        if channel is not None and text_problem(channel) is not None:
            raise json_http(web.HTTPBadRequest, '"channel" is not a channel name')
        return first, last, channel


def _day(raw: str | None, name: str) -> date | None:
    if raw is None or raw == "":
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise json_http(web.HTTPBadRequest, f'"{name}" must be a date like 2026-11-01') from None
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise json_http(
            web.HTTPBadRequest, f'"{name}" must be a day from {EARLIEST_DAY} to {LATEST_DAY}'
        )
    return day


def ces_json(ces: Ces) -> dict[str, Any]:
    return {"mean": ces.mean, "easy_rate": ces.easy_rate, "responses": ces.responses}


def report_json(report: KpiReport) -> dict[str, Any]:
    """The report as JSON: counts, rates in percent (null when there is nothing to
    divide), durations in seconds."""
    return {
        "from": report.start.isoformat(),
        "to": report.end.isoformat(),
        "conversations": report.conversations,
        "self_resolution_rate": report.self_resolution_rate,
        "containment_rate": report.containment_rate,
        "handoff_rate": report.handoff_rate,
        "fcr": {
            "bot": {"rate": report.fcr_bot.rate, "eligible": report.fcr_bot.eligible},
            "agent": {"rate": report.fcr_agent.rate, "eligible": report.fcr_agent.eligible},
        },
        "first_response_seconds": {
            "median": report.first_response.median, "p90": report.first_response.p90,
        },
        "resolution_seconds": {"median": report.resolution.median, "p90": report.resolution.p90},
        "csat": {"score": report.csat, "responses": len(report.csat_scores)},
        "nps": {"score": report.nps, "responses": len(report.nps_scores)},
        "ces": {
            **ces_json(report.ces),
            "by_channel": {c: ces_json(v) for c, v in report.ces_by_channel.items()},
            "by_resolution": {r: ces_json(v) for r, v in report.ces_by_resolution.items()},
        },
        "surveys": {
            "sent": report.surveys_sent,
            "responses": report.survey_responses,
            "response_rate": report.survey_response_rate,
        },
        "volume": report.volume,
        "faq_hits": [{"id": i, "count": n} for i, n in report.faq_hits],
        "faq_not_helpful": [{"id": i, "count": n} for i, n in report.faq_not_helpful],
        "unanswered": [{"question": q, "count": n} for q, n in report.unanswered],
    }  # fmt: skip
