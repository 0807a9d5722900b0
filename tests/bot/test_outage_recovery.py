"""The database going away under a running server, and coming back.

A TCP proxy (tests/fakes/tcp_proxy.py) stands between the app and the shared PostgreSQL
server, so "the database" is cut and restored for this app alone. LINE's API is faked
and its webhooks are signed as LINE signs them.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import col, func, select

from bot.app import SERVICES, Services, create_app
from bot.config import Settings
from bot.db_outage import RETRY_AFTER_SECONDS
from bot.logs import JsonFormatter
from bot.models import EventDelivery, InboundEvent, InboxStatus, Message, Outbox, OutboxStatus, Role
from tests.chat_socket import WS_PATH, authenticated
from tests.conftest import Database
from tests.fakes.clock import ManualClock
from tests.fakes.line_api import FakeLineApi
from tests.fakes.line_webhook import LineSender
from tests.fakes.settling import unsettled
from tests.fakes.tcp_proxy import TcpProxy

# Only PostgreSQL runs behind a network connection that can be cut.
pytestmark = pytest.mark.parametrize("database", ["postgresql"], indirect=True)

SECRET = "line-channel-secret-0123456789"
TOKEN = "line-access-token-0123456789"
# Trust authentication ignores it; it must still never reach a log line.
DB_PASSWORD = "not-a-real-db-password"
FIRST, SECOND = "U1111111111111111111111111111111", "U2222222222222222222222222222222"
QUESTION = "料金プランを教えてください"
# Part of the FAQ's answer to QUESTION: only a turn that stores that answer sends it to the
# server (as a bound value, never as SQL text, which asyncpg may send once per connection).
ANSWER = "月額600円"

ClientMaker = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]
ServerMaker = Callable[[web.Application], Awaitable[TestServer]]


class LogWatch(logging.Handler):
    """Keeps the app's log lines, formatted as in production, and wakes waiters."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []
        self.messages: list[str] = []
        self.changed = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        self.messages.append(record.getMessage())
        self.changed.set()

    async def wait_for(self, message: str) -> None:
        async with asyncio.timeout(20):
            while message not in self.messages:
                self.changed.clear()
                await self.changed.wait()


@dataclass
class Outage:
    client: TestClient[Any, Any]
    proxy: TcpProxy
    api: FakeLineApi
    clock: ManualClock
    line: LineSender
    log: LogWatch

    @property
    def services(self) -> Services:
        return self.client.app[SERVICES]

    async def line_event(self, user: str) -> tuple[bytes, dict[str, str]]:
        event = self.line.text(QUESTION, user, self.clock())
        self.api.valid_reply_tokens.add(event["replyToken"])
        return self.line.request(event)

    async def delivered(self) -> None:
        """Wait for the app's own loops (nothing here claims rows) to finish what is due."""
        models = (
            (Outbox, "conversation_id"), (InboundEvent, "sender"), (EventDelivery, "group_key")
        )
        async with asyncio.timeout(20):
            while True:
                if not await unsettled(self.services.sessions, models, self.clock()):
                    return
                await asyncio.sleep(0.05)

    async def scrape(self, name: str, **labels: str) -> float:
        """One sample of `/metrics`; 0 when the series has not been exposed yet."""
        r = await self.client.get("/metrics")
        assert r.status == 200
        for family in text_string_to_metric_families(await r.text()):
            for sample in family.samples:
                if sample.name == name and sample.labels == labels:
                    return float(sample.value)
        return 0.0


@pytest.fixture
async def outage(
    aiohttp_client: ClientMaker, aiohttp_server: ServerMaker, database: Database, faq_dir: Path
) -> AsyncIterator[Outage]:
    proxy = TcpProxy("127.0.0.1", 5432)
    await proxy.start()
    api = FakeLineApi(access_token=TOKEN)
    server = await aiohttp_server(api.app())
    clock = ManualClock()
    assert database.schema is not None
    settings = Settings.from_env(
        {
            "HELPDESK_DATABASE_URL": (
                f"postgresql+asyncpg://postgres:{DB_PASSWORD}@127.0.0.1:{proxy.port}/test"
            ),
            "HELPDESK_DATABASE_SCHEMA": database.schema,
            "HELPDESK_FAQ_DIR": str(faq_dir),
            "LINE_CHANNEL_SECRET": SECRET,
            "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
            "LINE_API_BASE_URL": f"http://127.0.0.1:{server.port}",
        }
    )
    watch = LogWatch()
    logger = logging.getLogger(f"helpdesk-outage-{uuid.uuid4().hex[:8]}")
    logger.setLevel(logging.INFO)
    logger.addHandler(watch)
    client = await aiohttp_client(create_app(settings, clock=clock, logger=logger))
    try:
        yield Outage(client, proxy, api, clock, LineSender(SECRET), watch)
    finally:
        proxy.restore()  # the app's shutdown disposes its pool through the proxy
        await client.close()
        await proxy.close()
        logger.removeHandler(watch)


async def test_outage_answers_503_keeps_no_half_turn_and_recovers(outage: Outage) -> None:
    o = outage
    r = await o.client.post("/api/chat/sessions")
    auth = {"Authorization": f"Bearer {(await r.json())['token']}"}
    r = await o.client.post("/api/chat/messages", json={"text": "パスワード忘れた"}, headers=auth)
    assert r.status == 200
    # LINE is busy when the first customer's answer goes out: it waits for a retry, and
    # is still waiting when the database goes away.
    o.api.fail_next(1, status=429, retry_after=60)
    body, headers = await o.line_event(FIRST)
    assert (await o.client.post("/webhooks/line", data=body, headers=headers)).status == 200
    await o.delivered()
    assert o.api.calls == [] and o.api.requests == 1

    # The database vanishes between the turn's last write (the bot's answer) and its COMMIT.
    cut = o.proxy.cut_at(b"COMMIT", after=ANSWER.encode())
    r = await o.client.post("/api/chat/messages", json={"text": QUESTION}, headers=auth)
    assert cut.is_set() and o.proxy.is_cut
    assert r.status == 503
    assert r.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert await r.json() == {"error": "database unavailable"}
    o.clock.advance(seconds=120)  # the first customer's retry falls due meanwhile

    # While it is down:
    r = await o.client.get("/readyz")
    assert r.status == 503
    ready = await r.json()
    assert ready["status"] == "unavailable" and ready["reason"].startswith("database")
    assert (await o.client.get("/healthz")).status == 200  # liveness: do not restart us
    r = await o.client.post("/api/chat/messages", json={"text": QUESTION}, headers=auth)
    assert (r.status, r.headers["Retry-After"]) == (503, str(RETRY_AFTER_SECONDS))
    refused_body, refused_headers = await o.line_event(SECOND)
    r = await o.client.post("/webhooks/line", data=refused_body, headers=refused_headers)
    assert r.status == 503, "LINE must see a failure, so that it delivers the event again"
    assert await o.scrape("helpdesk_database_up") == 0
    # The work loops and the survey ticker meet the outage and carry on.
    o.services.inbox.notify()
    o.services.outbox.notify()
    await o.log.wait_for("inbox processing failed: database unavailable; will retry")
    await o.log.wait_for("outbox dispatch failed: database unavailable; will retry")
    job = o.services.scheduler.get_job("surveys")
    assert job is not None
    await job.func()
    assert "survey tick skipped: database unavailable" in o.log.messages

    # The database comes back.
    o.proxy.restore()
    r = await o.client.get("/readyz")
    assert (r.status, await r.json()) == (200, {"status": "ready"})
    r = await o.client.post("/api/chat/messages", json={"text": QUESTION}, headers=auth)
    assert r.status == 200
    assert ANSWER in (await r.json())["messages"][0]["text"]
    # LINE delivers the refused event again; the loops, left alone, catch up on both
    # customers: the waiting retry (now a push, the reply token is stale) and the reply.
    r = await o.client.post("/webhooks/line", data=refused_body, headers=refused_headers)
    assert r.status == 200
    await o.delivered()
    async with asyncio.timeout(20):
        await o.api.wait_for_calls(2)
    assert sorted((c.kind, c.to) for c in o.api.calls) == [("push", FIRST), ("reply", None)]
    assert all(ANSWER in c.texts[0] for c in o.api.calls)

    async with o.services.sessions() as s:
        asked = select(func.count()).where(col(Message.text) == QUESTION)
        # The web customer's question is stored once: the cut turn left nothing behind.
        assert (await s.exec(asked)).one() == 3  # web, and each LINE customer's
        messages = (await s.exec(select(Message).order_by(col(Message.id)))).all()
        queued = set((await s.exec(select(Outbox.message_id))).all())
        statuses = set((await s.exec(select(Outbox.status))).all())
        events = (await s.exec(select(InboundEvent.status))).all()
    for customer in (m for m in messages if m.role == Role.CUSTOMER):
        assert customer.id is not None
        replies = [
            m
            for m in messages
            if m.conversation_id == customer.conversation_id
            and m.role == Role.BOT
            and (m.id or 0) > customer.id
        ]
        assert replies, f"customer message {customer.id} has no reply"
    assert {m.id for m in messages if m.role == Role.BOT} <= queued
    assert statuses == {OutboxStatus.SENT}
    assert events == [InboxStatus.DONE, InboxStatus.DONE]

    assert await o.scrape("helpdesk_database_up") == 1
    failures = "helpdesk_http_request_duration_seconds_count"
    labels = {"method": "POST", "status": "5xx"}
    assert await o.scrape(failures, route="/api/chat/messages", **labels) == 2
    assert await o.scrape(failures, route="/webhooks/line", **labels) == 1
    assert "request failed" not in o.log.messages, "an outage must not become a 500"
    assert not any(DB_PASSWORD in line or QUESTION in line for line in o.log.lines)


async def test_a_line_event_cut_mid_turn_is_handled_once_after_recovery(outage: Outage) -> None:
    o = outage
    # The webhook stores the event; the inbox's turn then loses the database before COMMIT.
    cut = o.proxy.cut_at(b"COMMIT", after=ANSWER.encode())
    body, headers = await o.line_event(FIRST)
    assert (await o.client.post("/webhooks/line", data=body, headers=headers)).status == 200
    async with asyncio.timeout(20):
        await cut.wait()
    await o.log.wait_for("inbound event failed: database unavailable")
    await o.log.wait_for("inbox processing failed: database unavailable; will retry")

    o.proxy.restore()
    o.clock.advance(seconds=121)  # the interrupted claim lapses (120 s)
    o.services.inbox.notify()
    await o.delivered()
    async with asyncio.timeout(20):
        (call,) = await o.api.wait_for_calls(1)
    assert (call.kind, call.to) == ("push", FIRST)  # the reply token went stale meanwhile
    assert ANSWER in call.texts[0]
    async with o.services.sessions() as s:
        asked = select(func.count()).where(col(Message.text) == QUESTION)
        assert (await s.exec(asked)).one() == 1
        (event,) = (await s.exec(select(InboundEvent))).all()
    assert event.status == InboxStatus.DONE and event.attempts == 2
    assert not any(DB_PASSWORD in line or QUESTION in line for line in o.log.lines)


async def test_a_websocket_authenticating_during_an_outage_is_told_to_try_later(
    outage: Outage,
) -> None:
    """Past the upgrade a 503 cannot be sent: the socket closes with 1013 instead, and
    the widget reconnects later."""
    o = outage
    token = (await (await o.client.post("/api/chat/sessions")).json())["token"]
    o.proxy.cut()
    ws = await o.client.ws_connect(WS_PATH)
    await ws.send_json({"type": "auth", "token": token})
    closed = await ws.receive(timeout=30)
    assert (closed.data, closed.extra) == (1013, "database_unavailable")
    assert "database unavailable; websocket closed" in o.log.messages
    o.proxy.restore()
    again = await authenticated(await o.client.ws_connect(WS_PATH), token)
    await again.close()
