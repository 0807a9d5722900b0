"""Admission control: past the in-flight limit, a widget API request waits briefly for a
slot and is then refused 503 with Retry-After; what is not counted is never refused.

The handler is held by the test, so a slot stays taken until the test lets it go: the
outcome does not depend on how fast anything runs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp.plugin import AiohttpClient

from bot.config import Settings
from channels.web.admission import admission_control

MESSAGES = "/api/chat/messages"


@dataclass
class HeldHandler:
    """Answers once released; counts the requests that reached it."""

    release: asyncio.Event = field(default_factory=asyncio.Event)
    entered: asyncio.Event = field(default_factory=asyncio.Event)
    reached: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.reached += 1
        self.entered.set()
        await self.release.wait()
        return web.json_response({"ok": True})


@pytest.fixture
async def held() -> HeldHandler:
    return HeldHandler()


async def server(
    aiohttp_client: AiohttpClient, handler: HeldHandler, max_in_flight: int
) -> TestClient:
    app = web.Application(
        middlewares=[admission_control(max_in_flight, 0.05, logging.getLogger("t"))]
    )
    app.router.add_post(MESSAGES, handler.handle)
    app.router.add_post("/webhooks/line", handler.handle)
    app.router.add_route("OPTIONS", MESSAGES, handler.handle)
    return await aiohttp_client(app)


@pytest.fixture
async def one_slot(
    aiohttp_client: AiohttpClient, held: HeldHandler
) -> AsyncIterator[TestClient]:
    client = await server(aiohttp_client, held, max_in_flight=1)
    yield client
    held.release.set()


async def test_a_request_past_the_limit_is_refused_with_retry_after(
    one_slot: TestClient, held: HeldHandler
) -> None:
    first = asyncio.create_task(one_slot.post(MESSAGES, json={}))
    await held.entered.wait()
    refused = await one_slot.post(MESSAGES, json={})
    assert refused.status == 503
    assert refused.headers["Retry-After"] == "1"
    assert "busy" in (await refused.json())["error"]
    assert held.reached == 1, "the refused request never reached the handler"

    held.release.set()
    assert (await first).status == 200
    # The slot is free again: the next request is served.
    assert (await one_slot.post(MESSAGES, json={})).status == 200


async def test_a_waiting_request_takes_the_slot_freed_within_its_wait(
    aiohttp_client: AiohttpClient, held: HeldHandler
) -> None:
    app = web.Application(
        middlewares=[admission_control(1, 30.0, logging.getLogger("t"))]
    )
    app.router.add_post(MESSAGES, held.handle)
    client = await aiohttp_client(app)
    first = asyncio.create_task(client.post(MESSAGES, json={}))
    await held.entered.wait()
    second = asyncio.create_task(client.post(MESSAGES, json={}))
    await asyncio.sleep(0.05)
    assert not second.done()  # waiting for the slot, not refused
    held.release.set()
    assert [(await first).status, (await second).status] == [200, 200]


async def test_webhooks_and_preflights_are_not_counted(
    one_slot: TestClient, held: HeldHandler
) -> None:
    first = asyncio.create_task(one_slot.post(MESSAGES, json={}))
    await held.entered.wait()
    others = [
        asyncio.create_task(one_slot.post("/webhooks/line", json={})),
        asyncio.create_task(one_slot.options(MESSAGES)),
    ]
    while held.reached < 3:  # noqa: ASYNC110 - both reach the handler despite the full slot
        await asyncio.sleep(0.01)
    held.release.set()
    assert [(await t).status for t in [first, *others]] == [200, 200, 200]


async def test_zero_turns_it_off(aiohttp_client: AiohttpClient, held: HeldHandler) -> None:
    client = await server(aiohttp_client, held, max_in_flight=0)
    tasks = [asyncio.create_task(client.post(MESSAGES, json={})) for _ in range(3)]
    while held.reached < 3:  # noqa: ASYNC110 - all three are in at once
        await asyncio.sleep(0.01)
    held.release.set()
    assert [(await t).status for t in tasks] == [200, 200, 200]


def test_the_settings() -> None:
    defaults = Settings.from_env({}).limits
    assert (defaults.web_max_in_flight, defaults.web_queue_seconds) == (16, 0.25)
    set_ = Settings.from_env(
        {"HELPDESK_WEB_MAX_IN_FLIGHT": "0", "HELPDESK_WEB_QUEUE_SECONDS": "0.2"}
    ).limits
    assert (set_.web_max_in_flight, set_.web_queue_seconds) == (0, 0.2)
