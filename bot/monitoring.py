"""`GET /metrics` (Prometheus exposition) and `GET /readyz` (can this replica serve?).

`/healthz` (in the app) is liveness: the process answers, nothing more, so a database
outage never gets every replica restarted at once. `/readyz` is readiness: a load
balancer stops sending traffic to a replica whose database does not answer.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
from collections.abc import Iterable

from aiohttp import web
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.admin_api import json_http
from bot.backlog import Backlog, read_backlog
from bot.clock import Clock
from bot.db import SessionFactory
from bot.db_outage import RETRY_AFTER_SECONDS, describe
from bot.header_values import HeaderNotAscii, ascii_header, bearer_token
from bot.metrics import Metrics

INVALID_METRICS_TOKEN = "missing or invalid metrics token"
# A version prometheus_client can compare: it raised TypeError on `version=x.1`, and it
# writes the version back into the response's Content-Type.
_VERSION = re.compile(r"\d{1,4}(?:\.\d{1,4}){0,3}")


def negotiable(accept: str) -> str:
    """The media ranges of an Accept header that prometheus_client's `choose_encoder` can
    work with: those without a version, or with one made of numbers."""
    usable = []
    for media_range in accept.split(","):
        params = (param.strip().partition("=") for param in media_range.split(";")[1:])
        if all(_VERSION.fullmatch(value) for key, _, value in params if key == "version"):
            usable.append(media_range)
    return ",".join(usable)


class MetricsGuard:
    """`/metrics` is open when no token is configured (a laptop, or a scraper on a private
    network); with tokens, it wants `Authorization: Bearer <one of them>`."""

    def __init__(self, tokens: Iterable[str | None]) -> None:
        self._tokens = tuple(t.encode() for t in tokens if t)

    def check(self, request: web.Request) -> None:
        if not self._tokens:
            return
        try:
            offered = bearer_token(request)
        except HeaderNotAscii as exc:
            raise json_http(web.HTTPUnauthorized, f"{INVALID_METRICS_TOKEN}: {exc}") from None
        # Every token is compared, in constant time, so timing tells nothing either.
        matches = [hmac.compare_digest(offered or b"", token) for token in self._tokens]
        if offered is None or not any(matches):
            raise json_http(web.HTTPUnauthorized, INVALID_METRICS_TOKEN)


class MonitoringApi:
    def __init__(
        self,
        db: AsyncEngine,
        sessions: SessionFactory,
        metrics: Metrics,
        guard: MetricsGuard,
        clock: Clock,
        channels: tuple[str, ...],
        timeout: float,
        logger: logging.Logger,
    ) -> None:
        self._db = db
        self._sessions = sessions
        self._metrics = metrics
        self._guard = guard
        self._clock = clock
        self._channels = channels
        self._timeout = timeout
        self._log = logger

    def register(self, router: web.UrlDispatcher) -> None:
        router.add_get("/metrics", self.metrics)
        router.add_get("/readyz", self.readyz)

    async def readyz(self, request: web.Request) -> web.Response:
        problem = await self._database_problem()
        if problem is None:
            return web.json_response({"status": "ready"})
        return web.json_response(
            {"status": "unavailable", "reason": problem},
            status=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    async def metrics(self, request: web.Request) -> web.Response:
        self._guard.check(request)
        backlog = await self._backlog()
        try:
            accept = ascii_header(request, "Accept")
        except HeaderNotAscii as exc:
            raise json_http(web.HTTPBadRequest, str(exc)) from None
        encode, content_type = choose_encoder(negotiable(accept))
        body = encode(_Scrape(self._metrics, backlog))
        return web.Response(body=body, headers={"Content-Type": content_type})

    async def _database_problem(self) -> str | None:
        """None when `SELECT 1` answers within the timeout, else why not (no secrets)."""
        try:
            async with asyncio.timeout(self._timeout):
                async with self._db.connect() as connection:
                    await connection.execute(text("SELECT 1"))
        except TimeoutError:
            reason = f"database did not answer within {self._timeout:g} s"
        except Exception as exc:
            reason = f"database unreachable ({describe(exc)})"
        else:
            return None
        self._log.warning("not ready", extra={"reason": reason})
        return reason

    async def _backlog(self) -> Backlog | None:
        """The queues' state, or None when the database cannot tell us in time (the
        scrape still answers, with `helpdesk_database_up 0`)."""
        try:
            async with asyncio.timeout(self._timeout), self._sessions() as session:
                return await read_backlog(session, self._clock(), self._channels)
        except Exception as exc:
            self._log.warning("backlog not read", extra={"error": describe(exc)})
            return None


class _Scrape(Collector):
    """One scrape: the process's counters plus the backlog gauges just read."""

    def __init__(self, metrics: Metrics, backlog: Backlog | None) -> None:
        self._metrics = metrics
        self._backlog = backlog

    def collect(self) -> Iterable[Metric]:
        yield from self._metrics.registry.collect()
        yield from backlog_families(self._backlog)


def backlog_families(backlog: Backlog | None) -> list[Metric]:
    up = GaugeMetricFamily(
        "helpdesk_database_up",
        "1 when the database answered this scrape's backlog queries, else 0.",
        value=0 if backlog is None else 1,
    )
    if backlog is None:
        return [up]
    depth = GaugeMetricFamily(
        "helpdesk_outbox_depth", "Messages to customers not yet delivered.", labels=["channel"]
    )
    age = GaugeMetricFamily(
        "helpdesk_outbox_oldest_pending_age_seconds",
        "How long the oldest undelivered message has waited.",
        labels=["channel"],
    )
    for channel, queue in sorted(backlog.outbox.items()):
        depth.add_metric([channel], queue.depth)
        age.add_metric([channel], queue.oldest_age_seconds)
    return [
        up,
        GaugeMetricFamily(
            "helpdesk_handoff_queue_length",
            "Handed-off conversations waiting for an agent to claim them.",
            value=backlog.handoff_queue,
        ),
        depth,
        age,
        GaugeMetricFamily(
            "helpdesk_slack_post_backlog",
            "Posts to Slack not yet accepted by Slack.",
            value=backlog.slack_posts.depth,
        ),
        GaugeMetricFamily(
            "helpdesk_slack_post_oldest_pending_age_seconds",
            "How long the oldest Slack post not yet accepted has waited.",
            value=backlog.slack_posts.oldest_age_seconds,
        ),
        GaugeMetricFamily(
            "helpdesk_surveys_due",
            "Surveys past their due time and not yet sent.",
            value=backlog.surveys_due,
        ),
        GaugeMetricFamily(
            "helpdesk_inbox_backlog",
            "Stored webhook events not yet processed.",
            value=backlog.inbox.depth,
        ),
        GaugeMetricFamily(
            "helpdesk_inbox_oldest_pending_age_seconds",
            "How long the oldest unprocessed webhook event has waited.",
            value=backlog.inbox.oldest_age_seconds,
        ),
        GaugeMetricFamily(
            "helpdesk_event_backlog",
            "Domain event deliveries not yet handled by their subscriber.",
            value=backlog.events.depth,
        ),
        GaugeMetricFamily(
            "helpdesk_event_oldest_pending_age_seconds",
            "How long the oldest domain event not yet handled by a subscriber has waited.",
            value=backlog.events.oldest_age_seconds,
        ),
        GaugeMetricFamily(
            "helpdesk_event_deliveries_failed",
            "Domain event deliveries given up on after repeated subscriber failures.",
            value=backlog.events_failed,
        ),
    ]
