"""The whole app (LINE, web, Slack) on fake platform APIs, plus survey helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse
from sqlmodel import col, select

from bot.models import Survey
from tests.channels.slack_desk import ClientMaker, Desk, ServerMaker, make_desk
from tests.chat_socket import WS_PATH, authenticated
from tests.conftest import Database
from tests.fakes.clock import ManualClock

LINE_USER = "U206d25c2ea6bd87c17655609a1c37cb8"


@pytest.fixture
async def desk(
    aiohttp_client: ClientMaker, aiohttp_server: ServerMaker, database: Database, faq_dir: Path
) -> AsyncIterator[Desk]:
    desk = await make_desk(aiohttp_client, aiohttp_server, database, faq_dir, ManualClock())
    hold_the_ticker(desk)
    yield desk
    await desk.client.close()


async def settle(desk: Desk) -> None:
    """Everything queued and due is done (see `Desk.settle`)."""
    await desk.settle()


def hold_the_ticker(desk: Desk) -> None:
    """Tests tick by hand: the app's real-time scheduler must not claim surveys between a
    test's clock move and its own tick (the outcome would be the same, the counts not)."""
    desk.services.scheduler.pause()


async def line_resolves(desk: Desk, user: str = LINE_USER) -> None:
    """A LINE customer asks the FAQ and confirms the answer helped."""
    await desk.line.post(desk.line.text("パスワード忘れた", user))
    await settle(desk)
    await desk.line.post(
        desk.line.event("postback", user, postback={"data": "helpful:yes:password-reset"})
    )
    await settle(desk)


async def web_resolves(desk: Desk) -> tuple[dict[str, str], ClientWebSocketResponse]:
    """A web chat customer (English) with the WebSocket open asks the FAQ and confirms
    the answer helped; their auth header and socket."""
    client = desk.client
    r = await client.post("/api/chat/sessions", json={"locale": "en"})
    data = await r.json()
    auth = {"Authorization": f"Bearer {data['token']}"}
    ws = await authenticated(await client.ws_connect(WS_PATH), data["token"])
    await client.post("/api/chat/messages", json={"text": "I forgot my password"}, headers=auth)
    await client.post(
        "/api/chat/messages", json={"postback": "helpful:yes:password-reset-en"}, headers=auth
    )
    return auth, ws


async def line_taps(desk: Desk, data: str, user: str = LINE_USER) -> None:
    await desk.line.post(desk.line.event("postback", user, postback={"data": data}))
    await settle(desk)


async def line_says(desk: Desk, text: str, user: str = LINE_USER) -> None:
    await desk.line.post(desk.line.text(text, user))
    await settle(desk)


async def tick(desk: Desk) -> int:
    """One scheduler tick, then deliver what it queued."""
    claimed = await desk.services.surveys.tick()
    await settle(desk)
    return claimed


async def surveys(desk: Desk) -> list[Survey]:
    async with desk.services.sessions() as s:
        return list((await s.exec(select(Survey).order_by(col(Survey.id)))).all())


def quick_replies(message: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, postback data) of a LINE message's quick-reply buttons."""
    items = message.get("quickReply", {}).get("items", [])
    return [(i["action"]["label"], i["action"]["data"]) for i in items]
