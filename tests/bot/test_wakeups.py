"""Work loops wake for new work, for retries at their due time and, on PostgreSQL, for work
another replica queued; the safety poll is set to an hour here, so only those can make
a loop go round within a test's timeout."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp.plugin import AiohttpClient
from sqlmodel import col, func, select

from bot.app import SERVICES, create_app
from bot.claims import WorkLoop
from bot.config import Settings
from bot.models import Outbox, OutboxStatus
from tests.conftest import Database
from tests.replicas.test_replicas import eventually

AN_HOUR = "3600"


def hourly_loop(step: Callable[[], Awaitable[int]]) -> WorkLoop:
    return WorkLoop(step, batch=10, poll_seconds=3600, logger=logging.getLogger("t"), what="w")


async def run_until(loop: WorkLoop, reached: asyncio.Event) -> None:
    """Run `loop` until `reached` is set (within 10 s, or the test fails), then stop it."""
    task = asyncio.create_task(loop.run())
    async with asyncio.timeout(10):
        await reached.wait()
    loop.stop()
    async with asyncio.timeout(10):
        await task


async def test_a_retry_wakes_its_loop_at_its_due_time() -> None:
    calls = 0
    second_round = asyncio.Event()

    async def step() -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            loop.wake_in(0.05)  # as a worker does when it puts a row back for a retry
        else:
            second_round.set()
        return 0

    loop = hourly_loop(step)
    await run_until(loop, second_round)  # only the retry's due time can bring it round


async def test_a_notified_loop_goes_round_once_more_without_waiting() -> None:
    calls = 0
    announced = 0
    second_round = asyncio.Event()

    async def step() -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            loop.notify()  # a row queued while the batch ran
        else:
            second_round.set()
        return 0

    def announce() -> None:
        nonlocal announced
        announced += 1

    loop = hourly_loop(step)
    loop.announce = announce
    await run_until(loop, second_round)
    assert announced == 1, "new work is announced to the other replicas"


async def replica(
    aiohttp_client: AiohttpClient, postgres: Database, faq_dir: Path
) -> TestClient:
    settings = Settings.from_env(
        {**postgres.env, "HELPDESK_FAQ_DIR": str(faq_dir), "HELPDESK_WORK_POLL_SECONDS": AN_HOUR}
    )
    return await aiohttp_client(create_app(settings))


@pytest.fixture
async def two_replicas(
    aiohttp_client: AiohttpClient, postgres: Database, faq_dir: Path
) -> AsyncIterator[tuple[TestClient, TestClient]]:
    first = await replica(aiohttp_client, postgres, faq_dir)
    second = await replica(aiohttp_client, postgres, faq_dir)
    yield first, second
    await first.close()
    await second.close()


async def unsent(client: TestClient) -> int:
    async with client.app[SERVICES].sessions() as session:
        query = select(func.count()).where(col(Outbox.status) != OutboxStatus.SENT)
        return int((await session.exec(query)).one())


async def test_a_reply_queued_at_one_replica_is_sent_by_another_it_woke(
    two_replicas: tuple[TestClient, TestClient],
) -> None:
    first, _second = two_replicas
    # The first replica's sender is stopped, so only the second can send the answer; it
    # polls once an hour, so only the first one's wake-up can make it look in time.
    services = first.app[SERVICES]
    services.outbox.stop()
    await asyncio.sleep(0)
    created = await first.post("/api/chat/sessions", json={"locale": "ja"})
    token = (await created.json())["token"]
    r = await first.post(
        "/api/chat/messages",
        json={"text": "パスワードを忘れました"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status == 200
    assert await unsent(first) > 0

    async def sent() -> bool:
        return await unsent(first) == 0

    await eventually(sent, "the second replica sending the answer")
