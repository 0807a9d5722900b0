"""`/metrics`, `/readyz` and `/healthz` over real HTTP, on SQLite and PostgreSQL, with
LINE's API faked and its webhooks signed as LINE signs them."""

from __future__ import annotations

import asyncio
import json
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
from bot.models import EventDelivery, InboundEvent, Outbox, OutboxStatus
from tests.conftest import Database
from tests.fakes.clock import ManualClock
from tests.fakes.line_api import FakeLineApi
from tests.fakes.line_webhook import LineSender
from tests.fakes.settling import unsettled
from tests.raw_http import request_bytes, send_raw

SECRET = "line-channel-secret-0123456789"
TOKEN = "line-access-token-0123456789"
ADMIN = "admin-token-0123456789"
METRICS = "metrics-token-0123456789"
USER = "U206d25c2ea6bd87c17655609a1c37cb8"

ClientMaker = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]
ServerMaker = Callable[[web.Application], Awaitable[TestServer]]
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@dataclass
class Monitored:
    client: TestClient[Any, Any]
    api: FakeLineApi
    clock: ManualClock
    line: LineSender

    @property
    def services(self) -> Services:
        return self.client.app[SERVICES]

    async def scrape(self, token: str = METRICS) -> Samples:
        r = await self.client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert r.status == 200, await r.text()
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        samples: Samples = {}
        for family in text_string_to_metric_families(await r.text()):
            for sample in family.samples:
                samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
        return samples

    async def chat(self, text: str) -> dict[str, Any]:
        r = await self.client.post("/api/chat/sessions")
        token = (await r.json())["token"]
        r = await self.client.post(
            "/api/chat/messages", json={"text": text}, headers={"Authorization": f"Bearer {token}"}
        )
        assert r.status == 200
        data: dict[str, Any] = await r.json()
        return data

    async def settle(self) -> None:
        """Let the inbox and outbox finish what is due, as the LINE tests do."""
        models = (
            (Outbox, "conversation_id"),
            (InboundEvent, "sender"),
            (EventDelivery, "group_key"),
        )
        async with asyncio.timeout(10):
            while True:
                while await self.services.inbox.process_once():
                    pass
                while await self.services.events.deliver_once():
                    pass
                while await self.services.outbox.dispatch_once():
                    pass
                if not await unsettled(self.services.sessions, models, self.clock()):
                    return
                await asyncio.sleep(0.01)


def value(samples: Samples, name: str, **labels: str) -> float:
    """A sample's value; a series not exposed yet has counted nothing (0)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def total(samples: Samples, name: str) -> float:
    return sum(v for (n, _), v in samples.items() if n == name)


async def make_client(
    aiohttp_client: ClientMaker,
    aiohttp_server: ServerMaker,
    database: Database,
    faq_dir: Path,
    **env: str,
) -> Monitored:
    api = FakeLineApi(access_token=TOKEN)
    server = await aiohttp_server(api.app())
    clock = ManualClock()
    settings = Settings.from_env(
        {
            **database.env,
            "HELPDESK_FAQ_DIR": str(faq_dir),
            "LINE_CHANNEL_SECRET": SECRET,
            "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
            "LINE_API_BASE_URL": f"http://127.0.0.1:{server.port}",
            **env,
        }
    )
    client = await aiohttp_client(create_app(settings, clock=clock))
    return Monitored(client, api, clock, LineSender(SECRET))


@pytest.fixture
async def monitored(
    aiohttp_client: ClientMaker, aiohttp_server: ServerMaker, database: Database, faq_dir: Path
) -> AsyncIterator[Monitored]:
    m = await make_client(
        aiohttp_client, aiohttp_server, database, faq_dir,
        HELPDESK_METRICS_TOKEN=METRICS, HELPDESK_ADMIN_TOKEN=ADMIN,
    )  # fmt: skip
    yield m
    await m.client.close()  # stop the app before its database is dropped


async def test_counters_and_gauges_follow_the_traffic(monitored: Monitored) -> None:
    m = monitored
    before = await m.scrape()

    answered = await m.chat("パスワード忘れた")
    assert answered["messages"][0]["text"].startswith("ログイン画面")
    await m.chat("担当者と話したい")
    event = m.line.text("パスワード忘れた", USER, m.clock())
    m.api.valid_reply_tokens.add(event["replyToken"])
    body, headers = m.line.request(event)
    assert (await m.client.post("/webhooks/line", data=body, headers=headers)).status == 200
    # LINE redelivers the same event: stored once, counted as a duplicate.
    assert (await m.client.post("/webhooks/line", data=body, headers=headers)).status == 200
    assert (await m.client.get("/no/such/page")).status == 404
    assert (await m.client.get("/api/chat/messages")).status == 401
    await m.settle()
    assert len(m.api.replies()) == 1

    after = await m.scrape()
    name = "helpdesk_inbound_messages_total"
    assert moved(before, after, name, channel="web", decision="answer") == 1
    assert moved(before, after, name, channel="web", decision="handoff") == 1
    assert moved(before, after, name, channel="line", decision="answer") == 1
    assert total(after, name) - total(before, name) == 3
    name = "helpdesk_handoffs_requested_total"
    assert moved(before, after, name, channel="web", reason="customer_request") == 1
    assert total(after, name) - total(before, name) == 1
    assert moved(before, after, "helpdesk_webhook_events_received_total", channel="line") == 2
    assert moved(before, after, "helpdesk_webhook_events_duplicate_total", channel="line") == 1
    name = "helpdesk_inbox_events_total"
    assert moved(before, after, name, channel="line", result="done") == 1
    assert total(after, name) - total(before, name) == 1
    # The answer and "did this help?" went to LINE in one reply: two messages sent.
    assert moved(before, after, "helpdesk_outbox_sends_total", channel="line", result="sent") == 2
    async with m.services.sessions() as s:
        for channel in ("web", "line"):
            query = select(func.count()).where(
                col(Outbox.channel) == channel, col(Outbox.status) == OutboxStatus.SENT
            )
            sent = (await s.exec(query)).one()
            counted = value(after, "helpdesk_outbox_sends_total", channel=channel, result="sent")
            assert counted == sent > 0
            for result in ("retry", "failed"):
                assert (
                    value(after, "helpdesk_outbox_sends_total", channel=channel, result=result) == 0
                )

    requests = "helpdesk_http_request_duration_seconds_count"
    for method, route, status, count in [
        ("POST", "/api/chat/messages", "2xx", 2),
        ("POST", "/api/chat/sessions", "2xx", 2),
        ("POST", "/webhooks/line", "2xx", 2),
        ("GET", "/api/chat/messages", "4xx", 1),
        ("GET", "unmatched", "4xx", 1),
    ]:
        assert moved(before, after, requests, method=method, route=route, status=status) == count
    assert not any(dict(labels).get("route", "").startswith("/no/") for (_, labels) in after), (
        "raw paths must not become label values"
    )

    assert value(after, "helpdesk_database_up") == 1
    assert value(after, "helpdesk_handoff_queue_length") == 1
    assert value(after, "helpdesk_outbox_depth", channel="line") == 0
    assert value(after, "helpdesk_outbox_depth", channel="web") == 0
    assert value(after, "helpdesk_inbox_backlog") == 0
    assert value(after, "helpdesk_surveys_due") == 0


async def test_backlog_gauges_count_what_waits_and_for_how_long(monitored: Monitored) -> None:
    m = monitored
    # LINE is busy for the first send and asks for ten minutes: the reply waits.
    m.api.fail_next(1, status=429, retry_after=600)
    event = m.line.text("パスワード忘れた", USER, m.clock())
    m.api.valid_reply_tokens.add(event["replyToken"])
    body, headers = m.line.request(event)
    assert (await m.client.post("/webhooks/line", data=body, headers=headers)).status == 200
    await m.settle()
    m.clock.advance(seconds=90)
    samples = await m.scrape()
    assert value(samples, "helpdesk_outbox_sends_total", channel="line", result="retry") == 2
    assert value(samples, "helpdesk_outbox_depth", channel="line") == 2
    assert value(samples, "helpdesk_outbox_oldest_pending_age_seconds", channel="line") == 90
    assert value(samples, "helpdesk_outbox_oldest_pending_age_seconds", channel="web") == 0


async def test_metrics_wants_a_token_when_one_is_set(monitored: Monitored) -> None:
    wrong = "Bearer wrong-token-0123456789"
    for headers in ({}, {"Authorization": wrong}, {"Authorization": METRICS}):
        r = await monitored.client.get("/metrics", headers=headers)
        assert r.status == 401
        assert await r.json() == {"error": "missing or invalid metrics token"}
    # The admin token is the stronger one, so it may read the metrics too.
    assert value(await monitored.scrape(token=ADMIN), "helpdesk_database_up") == 1
    assert value(await monitored.scrape(token=METRICS), "helpdesk_database_up") == 1


@pytest.mark.parametrize(
    "authorization",
    [
        b"Bearer \xff\xfe\xed\xa0\x80",
        b"Bearer " + METRICS.encode() + b"\x80",
        METRICS.encode() + b"\xe9",
        "Bearer メトリクス".encode(),
    ],
)
async def test_a_metrics_token_that_is_not_ascii_is_refused_with_a_reason(
    monitored: Monitored, authorization: bytes
) -> None:
    # aiohttp hands such header bytes on as surrogate escapes; encoding them to compare
    # the token raised: a 500 (found by the fuzz run).
    port = monitored.client.server.port
    assert port is not None
    reply = await send_raw(
        port, request_bytes("GET", "/metrics", [("Authorization", authorization)])
    )
    assert reply.status == 401
    assert json.loads(reply.body) == {
        "error": "missing or invalid metrics token: the Authorization header is not ASCII"
    }


async def test_metrics_is_open_without_any_token(
    aiohttp_client: ClientMaker, aiohttp_server: ServerMaker, database: Database, faq_dir: Path
) -> None:
    m = await make_client(aiohttp_client, aiohttp_server, database, faq_dir)
    try:
        r = await m.client.get("/metrics")
        assert r.status == 200
        assert "helpdesk_database_up 1.0" in await r.text()
    finally:
        await m.client.close()


async def test_metrics_speaks_openmetrics_when_asked(monitored: Monitored) -> None:
    r = await monitored.client.get(
        "/metrics",
        headers={
            "Authorization": f"Bearer {METRICS}",
            "Accept": "application/openmetrics-text; version=1.0.0",
        },
    )
    assert r.status == 200
    assert r.headers["Content-Type"].startswith("application/openmetrics-text")
    assert (await r.text()).rstrip().endswith("# EOF")


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [
        # prometheus_client compared "x" with 1: a TypeError, a 500 (found by the fuzz run).
        ("application/openmetrics-text; version=x.1", "text/plain; version=0.0.4"),
        ("text/plain; version=1.0.0 x", "text/plain; version=0.0.4"),
        # A usable range after an unusable one is still honoured, and the unusable
        # version is not written back into the Content-Type.
        (
            "application/openmetrics-text; version=1.0.0.x, application/openmetrics-text",
            "application/openmetrics-text; version=1.0.0",
        ),
    ],
)
async def test_an_accept_version_that_is_not_a_number_gets_a_format_it_can(
    monitored: Monitored, accept: str, content_type: str
) -> None:
    headers = {"Authorization": f"Bearer {METRICS}", "Accept": accept}
    r = await monitored.client.get("/metrics", headers=headers)
    assert r.status == 200
    assert r.headers["Content-Type"].startswith(content_type + ";")


async def test_an_accept_header_that_is_not_ascii_is_refused_with_a_reason(
    monitored: Monitored,
) -> None:
    port = monitored.client.server.port
    assert port is not None
    headers = [
        ("Authorization", f"Bearer {METRICS}".encode()),
        ("Accept", b"application/openmetrics-text; version=1.0.0\xff"),
    ]
    reply = await send_raw(port, request_bytes("GET", "/metrics", headers))
    assert reply.status == 400
    assert json.loads(reply.body) == {"error": "the Accept header is not ASCII"}


async def test_ready_and_healthy(monitored: Monitored) -> None:
    r = await monitored.client.get("/readyz")
    assert (r.status, await r.json()) == (200, {"status": "ready"})
    r = await monitored.client.get("/healthz")
    assert (r.status, await r.json()) == (200, {"status": "ok"})


async def test_two_apps_in_one_process_count_apart(
    aiohttp_client: ClientMaker, aiohttp_server: ServerMaker, database: Database, faq_dir: Path
) -> None:
    first = await make_client(aiohttp_client, aiohttp_server, database, faq_dir)
    second = await make_client(aiohttp_client, aiohttp_server, database, faq_dir)
    try:
        await first.chat("パスワード忘れた")
        name = "helpdesk_inbound_messages_total"
        assert value(await first.scrape(), name, channel="web", decision="answer") == 1
        assert value(await second.scrape(), name, channel="web", decision="answer") == 0
    finally:
        await first.client.close()
        await second.client.close()
