"""Web chat sessions expire after HELPDESK_CHAT_SESSION_DAYS unused; every authenticated
use (API call, WebSocket connect) slides the expiry forward, written at most hourly.
Time is moved by the app's ManualClock, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import event, update

from bot.app import SERVICES, create_app
from bot.config import Settings
from bot.models import ChatSession
from channels.web.expiry import SessionLifetime
from tests.chat_socket import WS_PATH, authenticated
from tests.conftest import Database
from tests.fakes.clock import ManualClock

ClientMaker = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]
Client = TestClient[Any, Any]
EXPIRED = {"error": "chat session expired; start a new one", "code": "session_expired"}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def client(
    aiohttp_client: ClientMaker, database: Database, faq_dir: Path, clock: ManualClock
) -> AsyncIterator[Client]:
    settings = Settings.from_env(
        {**database.env, "HELPDESK_FAQ_DIR": str(faq_dir),
         "HELPDESK_RATE_LIMIT_SESSION_PER_MINUTE": "0"}
    )  # fmt: skip
    assert settings.chat_session_days == 30  # the default these tests count with
    test_client = await aiohttp_client(create_app(settings, clock=clock))
    yield test_client
    await test_client.close()


async def new_session(client: Client) -> tuple[str, str]:
    r = await client.post("/api/chat/sessions", json={})
    assert r.status == 201
    data = await r.json()
    return data["session_id"], data["token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def stored_expiry(client: Client, session_id: str) -> datetime | None:
    async with client.app[SERVICES].sessions() as session:
        row = await session.get(ChatSession, session_id)
    assert row is not None
    return row.expires_at


async def history_status(client: Client, token: str) -> int:
    return (await client.get("/api/chat/messages", headers=bearer(token))).status


async def socket_close(client: Client, token: str) -> tuple[int, str]:
    ws = await client.ws_connect(WS_PATH)
    await ws.send_json({"type": "auth", "token": token})
    closed = await ws.receive(timeout=5)
    return closed.data, closed.extra


@contextmanager
def session_updates(client: Client) -> Iterator[list[str]]:
    """The UPDATEs of chat_session the app sends while the block runs."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE") and "chat_session" in statement:
            seen.append(statement)

    engine = client.app[SERVICES].db.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_a_session_unused_for_its_lifetime_is_refused_as_expired(
    client: Client, clock: ManualClock
) -> None:
    created = clock()
    used_id, used = await new_session(client)
    _, idle = await new_session(client)
    assert await stored_expiry(client, used_id) == created + timedelta(days=30)

    clock.advance(days=30, seconds=-1)
    assert await history_status(client, used) == 200  # valid to its last second, and renewed
    clock.advance(seconds=1)
    for method, path in (("GET", "/api/chat/messages"), ("POST", "/api/chat/link-code")):
        r = await client.request(method, path, headers=bearer(idle))
        assert r.status == 401 and await r.json() == EXPIRED, path
    r = await client.post("/api/chat/messages", json={"text": "hello?"}, headers=bearer(idle))
    assert r.status == 401 and await r.json() == EXPIRED
    assert await socket_close(client, idle) == (4401, "session_expired")
    # A refused token renews nothing: it stays expired.
    clock.advance(hours=2)
    assert await history_status(client, idle) == 401
    assert await history_status(client, used) == 200


async def test_each_use_slides_the_expiry_forward(client: Client, clock: ManualClock) -> None:
    session_id, token = await new_session(client)
    r = await client.post("/api/chat/messages", json={"text": "料金プラン"}, headers=bearer(token))
    assert r.status == 200
    # Used every 29 days, the session outlives its lifetime three times over, by HTTP
    # calls and by WebSocket connects alike.
    for _ in range(3):
        clock.advance(days=29)
        assert await history_status(client, token) == 200
        assert await stored_expiry(client, session_id) == clock() + timedelta(days=30)
    for _ in range(3):
        clock.advance(days=29)
        ws = await authenticated(await client.ws_connect(WS_PATH), token)
        await ws.close()
        assert await stored_expiry(client, session_id) == clock() + timedelta(days=30)
    history = (await (await client.get("/api/chat/messages", headers=bearer(token))).json())
    assert history["messages"][0]["text"] == "料金プラン"
    # Then left alone for the lifetime, it expires.
    clock.advance(days=30)
    assert await history_status(client, token) == 401
    assert await socket_close(client, token) == (4401, "session_expired")


async def test_the_expiry_is_written_at_most_once_an_hour(
    client: Client, clock: ManualClock
) -> None:
    session_id, token = await new_session(client)
    created, first = clock(), await stored_expiry(client, session_id)
    within_the_hour = [timedelta(minutes=m) for m in (0, 10, 20, 30, 40, 50)]
    with session_updates(client) as updates:
        for offset in [*within_the_hour, timedelta(minutes=59, seconds=59)]:
            clock.now = created + offset
            r = await client.post(
                "/api/chat/messages", json={"text": f"質問 {offset}"}, headers=bearer(token)
            )
            assert r.status == 200
            assert await history_status(client, token) == 200
            ws = await authenticated(await client.ws_connect(WS_PATH), token)
            await ws.close()
        assert updates == []  # 21 uses within the hour: not one UPDATE
        assert await stored_expiry(client, session_id) == first
        clock.now = created + timedelta(hours=1)
        assert await history_status(client, token) == 200
        assert len(updates) == 1
        assert await stored_expiry(client, session_id) == clock() + timedelta(days=30)
        assert await history_status(client, token) == 200
        assert len(updates) == 1


async def test_a_session_written_without_an_expiry_counts_from_its_creation(
    client: Client, clock: ManualClock
) -> None:
    """The release before expiry keeps creating sessions while a rolling upgrade runs."""
    created = clock()
    recent_id, recent = await new_session(client)
    _, old = await new_session(client)
    async with client.app[SERVICES].sessions() as session, session.begin():
        await session.exec(update(ChatSession).values(expires_at=None))
    clock.advance(days=30, seconds=-1)
    assert await history_status(client, recent) == 200
    assert await stored_expiry(client, recent_id) == clock() + timedelta(days=30)
    clock.now = created + timedelta(days=30)
    assert await history_status(client, old) == 401
    assert await history_status(client, recent) == 200


@pytest.mark.parametrize("days", ["1", "45"])
async def test_the_lifetime_is_the_setting(
    aiohttp_client: ClientMaker, database: Database, faq_dir: Path, days: str
) -> None:
    clock = ManualClock()
    settings = Settings.from_env(
        {**database.env, "HELPDESK_FAQ_DIR": str(faq_dir), "HELPDESK_CHAT_SESSION_DAYS": days}
    )
    client = await aiohttp_client(create_app(settings, clock=clock))
    try:
        _, token = await new_session(client)
        clock.advance(days=int(days), seconds=-1)
        _, other = await new_session(client)
        assert await history_status(client, other) == 200
        clock.advance(seconds=1)
        assert await history_status(client, token) == 401
    finally:
        await client.close()


def test_renewal_waits_for_an_hour_of_lag_and_follows_a_lowered_lifetime() -> None:
    lifetime = SessionLifetime(timedelta(days=30))
    now = ManualClock().now
    stored = lifetime.expires_at(now)
    assert stored == now + timedelta(days=30)
    assert lifetime.renewal(stored, now + timedelta(minutes=59, seconds=59)) is None
    assert lifetime.renewal(stored, now + timedelta(hours=1)) == stored + timedelta(hours=1)
    # Written under a 30-day lifetime and now used under a 7-day one: pulled in at once.
    week = SessionLifetime(timedelta(days=7))
    assert week.renewal(stored, now) == now + timedelta(days=7)
    assert week.renewal(now + timedelta(days=7, minutes=30), now) is None
