"""Creating one identity from several transactions at once gives one identity and one
customer, never an error (PostgreSQL: the race needs concurrent transactions).

The race is made deterministic: a first transaction inserts the identity and holds its
commit while the others run into the unique key and wait on it (seen in
pg_stat_activity); then it commits and the waiters must take its row."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlmodel import func, select

from bot.app import SERVICES, create_app
from bot.config import Settings
from bot.db import SessionFactory, make_engine, make_session_factory, upgrade
from bot.models import ChatSession, Customer, Identity
from bot.store import get_or_create_identity
from channels.web.sessions import WEB_USER, identity_hash
from tests.conftest import POSTGRES_DSN, Database
from tests.fakes.clock import ManualClock

ClientMaker = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]
SECRET = "site-identity-secret-0123"
WAITERS = 4


async def inserts_waiting() -> int:
    """Identity inserts blocked on a lock: waiting for the held insert's unique key."""
    connection = await asyncpg.connect(POSTGRES_DSN)
    try:
        value = await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND query LIKE 'INSERT INTO identity %'"
        )
    finally:
        await connection.close()
    return int(value)


async def until_waiting(count: int) -> None:
    async with asyncio.timeout(30):
        while await inserts_waiting() < count:  # noqa: ASYNC110 (polling another process)
            await asyncio.sleep(0.02)


async def held_insert(sessions: SessionFactory, channel: str, external_id: str) -> Any:
    """A transaction that has inserted the identity and not committed: (session, its
    transaction, the identity)."""
    session = sessions()
    transaction = await session.begin()
    identity = await get_or_create_identity(session, channel, external_id, ManualClock()())
    return session, transaction, identity


@pytest.fixture
async def client(
    aiohttp_client: ClientMaker, postgres: Database, faq_dir: Path
) -> AsyncIterator[TestClient[Any, Any]]:
    settings = Settings.from_env(
        {**postgres.env, "HELPDESK_FAQ_DIR": str(faq_dir), "HELPDESK_IDENTITY_SECRET": SECRET,
         "HELPDESK_DATABASE_POOL_SIZE": str(WAITERS + 2)}
    )  # fmt: skip
    test_client = await aiohttp_client(create_app(settings))
    yield test_client
    await test_client.close()


async def count(sessions: SessionFactory, model: Any) -> int:
    async with sessions() as s:
        return int((await s.exec(select(func.count()).select_from(model))).one())


async def test_concurrent_sessions_of_one_signed_user_are_one_customer(
    client: TestClient[Any, Any], postgres: Database
) -> None:
    sessions = client.app[SERVICES].sessions
    session, transaction, first = await held_insert(sessions, WEB_USER, "user-7")
    body = {"external_id": "user-7", "identity_hash": identity_hash(SECRET, "user-7")}
    requests = [
        asyncio.ensure_future(client.post("/api/chat/sessions", json=body))
        for _ in range(WAITERS)
    ]
    await until_waiting(WAITERS)
    await transaction.commit()
    await session.close()
    responses = await asyncio.gather(*requests)
    assert [r.status for r in responses] == [201] * WAITERS, [await r.text() for r in responses]

    async with sessions() as s:
        web_identities = (
            await s.exec(
                select(Identity).join(ChatSession, ChatSession.identity_id == Identity.id)
            )
        ).all()
    assert {i.customer_id for i in web_identities} == {first.customer_id}
    assert len(web_identities) == WAITERS
    # No customer left behind by the transactions that lost the race.
    assert await count(sessions, Customer) == 1


async def test_concurrent_first_messages_of_a_line_user_share_one_identity(
    postgres: Database,
) -> None:
    engine = make_engine(postgres.url, postgres.schema, pool_size=WAITERS + 2)
    try:
        await upgrade(engine)
        sessions = make_session_factory(engine)
        session, transaction, first = await held_insert(sessions, "line", "U0123456789")

        async def another() -> Identity:
            async with sessions() as s, s.begin():
                return await get_or_create_identity(s, "line", "U0123456789", ManualClock()())

        others = [asyncio.ensure_future(another()) for _ in range(WAITERS)]
        await until_waiting(WAITERS)
        await transaction.commit()
        await session.close()
        found = await asyncio.gather(*others)
        assert {(i.id, i.customer_id) for i in found} == {(first.id, first.customer_id)}
        assert await count(sessions, Customer) == 1
        assert await count(sessions, Identity) == 1
    finally:
        await engine.dispose()
