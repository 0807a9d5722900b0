"""The composition root: builds every part from Settings and wires them into one app.

Nothing here does I/O until the app starts: migrations, the first FAQ load and the
background loops run in `cleanup_ctx`, and are undone there on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from aiohttp import web
from aiohttp.typedefs import Middleware
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.admin_api import AdminApi, AdminGuard
from bot.body_limits import body_limits
from bot.claims import LoopingWorker
from bot.clock import Clock, utc_now
from bot.config import Settings
from bot.db import SessionFactory, make_engine, make_session_factory, postgres_pool, upgrade
from bot.db_outage import database_outage_middleware, outage_tolerant
from bot.engine import Engine
from bot.event_outbox import EventOutbox
from bot.http_metrics import request_metrics_middleware
from bot.inbox import InboxHandler, InboxProcessor
from bot.metrics import Metrics
from bot.monitoring import MetricsGuard, MonitoringApi
from bot.openapi import openapi_document, register_openapi
from bot.outbox import OutboxDispatcher
from bot.pg_listener import PgListener, channel_name, listener_dsn
from bot.ports import OutputChannel
from bot.reports_api import ReportsApi
from bot.returning import ReturningCustomers
from bot.texts import Texts
from bot.wakeups import Wakeups
from channels.line.handler import LineEventHandler
from channels.line.output import LineOutput
from channels.line.webhook import WEBHOOK_PATH, LineWebhook
from channels.slack.agent_access import AgentAccess
from channels.slack.commands import HelpdeskCommand
from channels.slack.desk import SlackDesk
from channels.slack.events_endpoint import EVENTS_PATH, SlackEventsEndpoint
from channels.slack.posts import SlackPoster
from channels.web.admission import admission_control
from channels.web.api import WebChatApi, WebChatOptions
from channels.web.cors import widget_cors
from channels.web.dashboard import DashboardPage
from channels.web.expiry import SessionLifetime
from channels.web.hub import LiveHub
from channels.web.output import WebOutput
from channels.web.relay import LiveRelay, LocalRelay, PostgresRelay
from channels.web.throttle import widget_throttle
from faq.library import FaqLibrary
from handoff.notices import HandoffNotices
from handoff.service import HandoffService
from surveys.alerts import SlackSurveyAlerts
from surveys.comment_terms import CommentAnalyzer
from surveys.digest import DailyDigest, DigestSchedule
from surveys.dispatcher import SurveyDispatcher
from surveys.kind_rules import default_rules
from surveys.planner import SurveyPlanner
from surveys.policy import SurveyPolicy
from surveys.responder import SurveyResponder
from surveys.timer import SurveyTimer


@dataclass(frozen=True)
class Services:
    """The long-lived parts, reachable from tests as `app[SERVICES]`."""

    settings: Settings
    db: AsyncEngine
    sessions: SessionFactory
    faq: FaqLibrary
    events: EventOutbox
    engine: Engine
    outbox: OutboxDispatcher
    hub: LiveHub
    relay: LiveRelay
    inbox: InboxProcessor
    line: LineOutput | None
    clock: Clock
    handoffs: HandoffService
    slack: SlackParts | None
    surveys: SurveyDispatcher
    timers: Timers
    # Started and stopped with the app; tests pause it and tick by hand.
    scheduler: AsyncIOScheduler
    metrics: Metrics
    # PostgreSQL only: the replica's LISTEN connection and the work loops' wake-ups.
    listener: PgListener | None = None
    wakeups: Wakeups | None = None


@dataclass(frozen=True)
class Timers:
    """What the scheduler calls."""

    surveys: SurveyDispatcher
    slack: SlackParts | None
    digest: DailyDigest | None


@dataclass(frozen=True)
class SlackParts:
    """The Slack agent desk, present when the SLACK_* settings are."""

    client: AsyncWebClient
    poster: SlackPoster
    desk: SlackDesk
    endpoint: SlackEventsEndpoint


SERVICES = web.AppKey("services", Services)
# How long shutdown waits for in-flight sends and events before cancelling them.
SHUTDOWN_GRACE_SECONDS = 10.0


class Stoppable(Protocol):
    def stop(self) -> None: ...


# How often unclaimed cases are checked for a reminder (the wait itself is a setting).
REMINDER_TICK_SECONDS = 30
# How long start-up waits for the database listener (live relay, wake-ups) to listen.
LISTEN_START_SECONDS = 10.0
# How often a digest that should have gone out today is checked for.
DIGEST_CATCH_UP_SECONDS = 600


def create_app(
    settings: Settings, clock: Clock = utc_now, logger: logging.Logger | None = None
) -> web.Application:
    log = logger or logging.getLogger("helpdesk")
    db = make_engine(
        settings.database_url, settings.database_schema, settings.database_connect_timeout,
        **postgres_pool(settings.database_url, settings.database_pool_size),
    )  # fmt: skip
    metrics = Metrics.create()
    sessions = make_session_factory(db)
    faq = FaqLibrary(
        settings.faq_dir, log.getChild("faq"),
        semantic=settings.semantic, defer_semantic=True, glossary=settings.faq_glossary,
    )
    poll = settings.work_poll_seconds
    events = EventOutbox(
        sessions, clock, log.getChild("events"), poll, lease_of(settings), metrics=metrics
    )
    hub = LiveHub(log.getChild("web"))
    listener = _listener(settings, log.getChild("replicas"))
    relay = _live_relay(settings, listener, sessions, hub, log.getChild("web"))
    outputs: dict[str, OutputChannel] = {"web": WebOutput(relay)}
    texts = Texts.load(settings.texts_file)
    line = None
    if settings.line is not None:
        line = LineOutput(
            settings.line.access_token,
            settings.line.api_base_url,
            log.getChild("line"),
            clock,
            settings.line.request_timeout,
            agent_sender=texts.get("agent_sender_name", settings.default_locale),
        )
        outputs[line.name] = line
    outbox = OutboxDispatcher(
        sessions, outputs, clock, log.getChild("outbox"), poll, lease_of(settings), metrics
    )
    inbox_handlers: dict[str, InboxHandler] = {}
    inbox = InboxProcessor(
        sessions, inbox_handlers, clock, log.getChild("inbox"), poll, metrics=metrics
    )
    policy = survey_policy(settings)
    survey_log = log.getChild("surveys")
    alerts = SlackSurveyAlerts() if settings.slack is not None else None
    responder = SurveyResponder(texts, policy, alerts, survey_log)
    returning = returning_customers(settings, texts)
    engine = Engine(
        sessions=sessions,
        faq=faq,
        texts=texts,
        events=events,
        clock=clock,
        thresholds=settings.thresholds,
        default_locale=settings.default_locale,
        on_outbox=outbox.notify,
        logger=log.getChild("engine"),
        surveys=responder,
        metrics=metrics,
        returning=returning,
    )
    handoffs = HandoffService(
        sessions, texts, events, clock, outbox.notify, log.getChild("handoff")
    )
    notices = HandoffNotices(
        texts, settings.business_hours, clock, outbox.notify, returning
    )
    events.subscribe(notices.subscription())
    scheduler = AsyncIOScheduler(timezone="UTC")
    surveys = SurveyDispatcher(
        sessions, texts, policy, clock, outbox.notify, survey_log, metrics=metrics,
        batch=settings.survey_batch,
    )  # fmt: skip
    survey_tick = outage_tolerant(surveys.tick, log, "survey tick")
    survey_timer = SurveyTimer(scheduler, survey_tick, clock)
    surveys.on_next_due = survey_timer.at
    events.subscribe(SurveyPlanner(policy, clock, survey_log, survey_timer.at).subscription())
    slack = _slack_desk(settings, sessions, handoffs, clock, log.getChild("slack"), metrics)
    if slack is not None:
        events.subscribe(slack.desk.subscription())
    # One for the reports and the digest: it keeps SudachiPy's dictionary once loaded.
    comment_analyzer = CommentAnalyzer()
    digest = None
    if slack is not None and settings.digest_time is not None:
        schedule = DigestSchedule(settings.digest_time, settings.business_hours.timezone)
        digest = DailyDigest(
            sessions, schedule, clock, log.getChild("digest"), comment_analyzer
        )
    timers = Timers(surveys, slack, digest)
    wakeups = None
    if listener is not None:
        wakeups = Wakeups(
            listener, channel_name("work", settings.database_schema), log.getChild("replicas")
        )
        workers: list[tuple[str, LoopingWorker]] = [
            ("inbox", inbox), ("outbox", outbox), ("events", events)
        ]
        if slack is not None:
            workers.append(("slack", slack.poster))
        for topic, worker in workers:
            wakeups.attach(topic, worker.loop)
    services = Services(
        settings, db, sessions, faq, events, engine, outbox, hub, relay, inbox, line, clock,
        handoffs, slack, surveys, timers, _scheduler(settings, timers, scheduler, survey_tick, log),
        metrics,
        listener, wakeups,
    )  # fmt: skip

    limits = settings.limits
    webhook_bodies = {path: limits.webhook_body_bytes for path in (WEBHOOK_PATH, EVENTS_PATH)}
    # The metrics middleware goes first (outermost) to see the status the others make.
    app = web.Application(
        client_max_size=max(settings.max_body_bytes, limits.webhook_body_bytes),
        middlewares=[
            request_metrics_middleware(metrics),
            widget_cors(limits.cors_origins),
            _json_errors(log),
            database_outage_middleware(log.getChild("db")),
            body_limits(settings.max_body_bytes, webhook_bodies),
            widget_throttle(limits, clock, log.getChild("web")),
            admission_control(
                limits.web_max_in_flight, limits.web_queue_seconds, log.getChild("web")
            ),
        ],
    )
    app[SERVICES] = services
    web_options = WebChatOptions(
        max_message_chars=settings.max_message_chars,
        identity_secret=settings.identity_secret,
        link_code_ttl=timedelta(minutes=settings.link_code_minutes),
        line_url=settings.line.add_friend_url if settings.line else None,
        max_websockets=limits.websockets_per_session,
        session_lifetime=SessionLifetime(timedelta(days=settings.chat_session_days)),
        websocket_auth_seconds=settings.websocket_auth_seconds,
    )
    WebChatApi(engine, sessions, hub, clock, web_options, log.getChild("web")).register(app.router)
    guard = AdminGuard(settings.admin_token)
    AdminApi(sessions, guard, clock).register(app.router)
    ReportsApi(
        sessions, guard, clock, settings.business_hours.timezone, comment_analyzer
    ).register(app.router)
    DashboardPage().register(app.router)
    MonitoringApi(
        db, sessions, metrics, MetricsGuard((settings.metrics_token, settings.admin_token)),
        clock, tuple(outputs), settings.ready_timeout, log.getChild("monitoring"),
    ).register(app.router)  # fmt: skip
    if settings.line is not None and line is not None:
        inbox_handlers[line.name] = LineEventHandler(
            engine, sessions, line, clock, log.getChild("line")
        )
        LineWebhook(
            settings.line.channel_secret, sessions, inbox, clock, log.getChild("line"), metrics
        ).register(app.router)
    if slack is not None:
        slack.endpoint.register(app.router)
    app.router.add_get("/healthz", _healthz)
    register_openapi(app.router, openapi_document(
        line=line is not None, slack=slack is not None,
        max_message_chars=settings.max_message_chars, server_url=settings.public_url,
    ))  # fmt: skip
    app.cleanup_ctx.append(_lifecycle(services, log))

    async def close_websockets(_: web.Application) -> None:
        # Graceful shutdown waits for open handlers; closing the sockets ends them now.
        await hub.close_all()

    app.on_shutdown.append(close_websockets)
    return app


def _listener(settings: Settings, log: logging.Logger) -> PgListener | None:
    """PostgreSQL: the replica's LISTEN connection, to hear the others (SQLite: one
    process, nobody to hear)."""
    if not settings.database_url.startswith("postgresql"):
        return None
    return PgListener(listener_dsn(settings.database_url), log)


def _live_relay(
    settings: Settings,
    listener: PgListener | None,
    sessions: SessionFactory,
    hub: LiveHub,
    log: logging.Logger,
) -> LiveRelay:
    """PostgreSQL: replicas reach each other's WebSockets through LISTEN/NOTIFY."""
    if listener is None:
        return LocalRelay(hub)
    channel = channel_name("live", settings.database_schema)
    return PostgresRelay(listener, channel, sessions, hub, log)


def _scheduler(
    settings: Settings,
    timers: Timers,
    scheduler: AsyncIOScheduler,
    survey_tick: Callable[[], Awaitable[None]],
    log: logging.Logger,
) -> AsyncIOScheduler:
    """The in-memory ticker. It only ticks: what is due lives in rows (survey.due_at,
    handoff.remind_at, the digest's dedupe key), so a restart or a second replica neither
    loses nor doubles work. Surveys also tick at their due time (surveys.timer)."""
    once = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
    scheduler.add_job(
        survey_tick, "interval", seconds=settings.survey_tick_seconds, id="surveys", **once
    )
    if timers.slack is not None:
        scheduler.add_job(
            outage_tolerant(timers.slack.desk.remind_unclaimed, log, "unclaimed reminders"),
            "interval", seconds=REMINDER_TICK_SECONDS, id="unclaimed_reminders", **once,
        )  # fmt: skip
    if timers.digest is not None and settings.digest_time is not None:
        at = settings.digest_time
        scheduler.add_job(
            outage_tolerant(timers.digest.post_yesterday, log, "daily digest"), "cron",
            hour=at.hour, minute=at.minute, timezone=settings.business_hours.timezone,
            id="daily_digest", **once,
        )  # fmt: skip
        scheduler.add_job(
            outage_tolerant(timers.digest.catch_up, log, "daily digest catch-up"), "interval",
            seconds=DIGEST_CATCH_UP_SECONDS, id="daily_digest_catch_up", **once,
        )  # fmt: skip
    return scheduler


def lease_of(settings: Settings) -> timedelta:
    """How long a claimed row (message, post, event) is one worker's before another may
    take it over."""
    return timedelta(seconds=settings.send_lease_seconds)


def returning_customers(settings: Settings, texts: Texts) -> ReturningCustomers | None:
    """Asks returning customers about their earlier case; None when turned off."""
    if settings.returning_days == 0:
        return None
    return ReturningCustomers(
        timedelta(days=settings.returning_days), texts, settings.business_hours.timezone
    )


def survey_policy(settings: Settings) -> SurveyPolicy:
    """The survey rules' knobs from the HELPDESK_SURVEY_* settings."""
    return SurveyPolicy(
        delay=timedelta(minutes=settings.survey_delay_minutes),
        throttle=timedelta(hours=settings.survey_throttle_hours),
        kinds=settings.survey_kinds or default_rules(timedelta(days=settings.nps_interval_days)),
        expiry=timedelta(days=settings.survey_expiry_days),
        skip_small_talk=settings.survey_skip_small_talk,
        skip_unanswered_handoff=settings.survey_skip_unanswered_handoff,
        review_url=settings.review_url,
        comment_window=timedelta(minutes=settings.survey_comment_minutes),
    )


def _slack_desk(
    settings: Settings,
    sessions: SessionFactory,
    handoffs: HandoffService,
    clock: Clock,
    log: logging.Logger,
    metrics: Metrics,
) -> SlackParts | None:
    if settings.slack is None:
        return None
    slack = settings.slack
    client = AsyncWebClient(
        token=slack.bot_token,
        base_url=slack.api_base_url,
        timeout=max(1, round(slack.request_timeout)),
    )
    poster = SlackPoster(
        sessions, client, slack.handoff_channel, clock, log, settings.work_poll_seconds,
        lease_of(settings), metrics=metrics,
    )
    desk = SlackDesk(
        sessions,
        poster,
        settings.business_hours,
        timedelta(minutes=settings.unclaimed_reminder_minutes),
        clock,
        log,
    )
    command = HelpdeskCommand(sessions, handoffs, settings.business_hours, clock)
    access = AgentAccess(client, slack.handoff_channel, slack.agent_usergroup, clock, log)
    endpoint = SlackEventsEndpoint(
        slack.signing_secret, client, sessions, handoffs, desk, command, access, clock, log,
        metrics,
    )
    return SlackParts(client, poster, desk, endpoint)


def _lifecycle(
    services: Services, log: logging.Logger
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        settings = services.settings
        if settings.auto_migrate:
            await upgrade(services.db)
        await services.faq.load()
        log.info(
            "faq loaded",
            extra={"entries": len(services.faq.matcher.entries), "dir": str(settings.faq_dir)},
        )
        if settings.admin_token is None:
            log.warning("admin API is off: set HELPDESK_ADMIN_TOKEN to enable /api/handoffs")
        if services.line is None:
            log.warning(
                "LINE channel is off: set LINE_CHANNEL_SECRET and LINE_CHANNEL_ACCESS_TOKEN"
            )
        else:
            await services.line.open()
            log.info("LINE channel is on", extra={"webhook": "/webhooks/line"})
        loops: list[Stoppable] = [services.inbox, services.outbox, services.events]
        tasks = [
            asyncio.create_task(services.inbox.run(), name="inbox"),
            asyncio.create_task(services.outbox.run(), name="outbox"),
            asyncio.create_task(services.events.run(), name="events"),
        ]
        listener = services.listener
        if listener is not None:
            loops.append(listener)
            tasks.append(asyncio.create_task(listener.run(), name="database listener"))
            if isinstance(services.relay, PostgresRelay):
                loops.append(services.relay)
                tasks.append(asyncio.create_task(services.relay.run(), name="live relay"))
            try:
                await asyncio.wait_for(listener.wait_listening(), LISTEN_START_SECONDS)
            except TimeoutError:
                log.warning(
                    "database listener is not listening yet: web sockets get replies late, "
                    "and work queued by other replicas waits for the poll"
                )
        faq_watch = asyncio.create_task(services.faq.watch(settings.faq_reload_seconds), name="faq")
        if services.slack is None:
            log.warning(
                "Slack agent desk is off: set SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN and "
                "SLACK_HANDOFF_CHANNEL; until then handoffs wait in the queue API "
                "(/api/handoffs)"
            )
        else:
            loops.append(services.slack.poster)
            tasks.append(asyncio.create_task(services.slack.poster.run(), name="slack"))
            log.info("Slack agent desk is on", extra={"endpoint": "/slack/events"})
        # start() needs the running loop, so it happens here and not in create_app.
        scheduler = services.scheduler
        scheduler.start()
        if services.timers.digest is not None:
            await _catch_up_digest(services.timers.digest, log)
        try:
            yield
        finally:
            scheduler.shutdown(wait=False)
            faq_watch.cancel()
            # Let the work loops finish the batch in hand before the database goes away.
            for loop in loops:
                loop.stop()
            _, unfinished = await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE_SECONDS)
            for task in (*unfinished, faq_watch):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if services.wakeups is not None:
                await services.wakeups.stop()
            await services.hub.close_all()
            if services.line is not None:
                await services.line.close()
            await services.faq.close()
            await services.db.dispose()

    return lifecycle


async def _catch_up_digest(digest: DailyDigest, log: logging.Logger) -> None:
    """A server that was down at digest time posts yesterday's digest as it starts (its
    dedupe key keeps it to one). Done before serving so that it is over when start-up is."""
    try:
        await digest.catch_up()
    except Exception:
        # A digest is not worth refusing to start for.
        log.exception("daily digest catch-up failed")


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json_errors(log: logging.Logger) -> Middleware:
    """API errors as JSON `{"error": reason}`; unexpected failures as a bare 500."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException as exc:
            if exc.content_type == "application/json" or not request.path.startswith("/api/"):
                raise
            reason = exc.reason
            if isinstance(exc, web.HTTPRequestEntityTooLarge):
                reason = "request body is too large"
            return web.json_response({"error": reason}, status=exc.status)
        except Exception:
            log.exception("request failed", extra={"path": request.path})
            return web.Response(
                status=500,
                text=json.dumps({"error": "internal error"}),
                content_type="application/json",
            )

    return middleware
