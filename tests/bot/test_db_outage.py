"""Telling a database outage from other failures, with errors raised by the real drivers."""

from __future__ import annotations

import asyncio
import inspect
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.claims import MAX_FAILURE_PAUSE, WorkLoop, pause_after
from bot.db import make_engine
from bot.db_outage import (
    RETRY_AFTER_SECONDS,
    database_outage_middleware,
    describe,
    is_database_unavailable,
    outage_tolerant,
)

ClientMaker = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.fixture
async def unreachable() -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"postgresql+asyncpg://postgres:hunter2@127.0.0.1:{closed_port()}/test")
    yield engine
    await engine.dispose()


async def failure(engine: AsyncEngine, sql: str = "SELECT 1") -> Exception:
    with pytest.raises(Exception) as caught:
        async with engine.connect() as connection:
            await connection.execute(text(sql))
    assert isinstance(caught.value, Exception)
    return caught.value


async def test_a_refused_postgresql_connection_is_an_outage(unreachable: AsyncEngine) -> None:
    error = await failure(unreachable)
    assert is_database_unavailable(error)
    assert "hunter2" not in describe(error) and "127.0.0.1" not in describe(error)


async def test_a_server_that_never_answers_fails_within_the_connect_timeout() -> None:
    with socket.socket() as silent:  # completes TCP handshakes and then says nothing
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        engine = make_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{port}/test", None, 0.2)
        try:
            # Without the setting asyncpg would wait a minute; this bound only stops a hang.
            async with asyncio.timeout(30):
                error = await failure(engine)
        finally:
            await engine.dispose()
    assert isinstance(error, TimeoutError)
    assert is_database_unavailable(error)


async def test_a_locked_sqlite_file_is_an_outage(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    holder = make_engine(url)
    waiter = make_engine(url, connect_args={"timeout": 0.05})
    try:
        async with holder.begin() as connection:
            await connection.execute(text("CREATE TABLE t (id INTEGER)"))
        async with holder.begin() as connection:
            await connection.execute(text("INSERT INTO t VALUES (1)"))  # holds the write lock
            locked = await failure(waiter, "INSERT INTO t VALUES (2)")
        assert "database is locked" in str(locked)
        assert is_database_unavailable(locked)
    finally:
        await holder.dispose()
        await waiter.dispose()


async def test_bugs_are_not_outages(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    try:
        # SQLite calls a missing table an OperationalError too; it is a bug, not an outage.
        assert not is_database_unavailable(await failure(engine, "SELECT * FROM nowhere"))
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
            await connection.execute(text("INSERT INTO t VALUES (1)"))
        duplicate = await failure(engine, "INSERT INTO t VALUES (1)")
        assert isinstance(duplicate, IntegrityError)
        assert not is_database_unavailable(duplicate)
    finally:
        await engine.dispose()
    # An OS error from anything but the database (a platform API call, say) is not one.
    assert not is_database_unavailable(ConnectionRefusedError(111, "Connection refused"))
    assert not is_database_unavailable(TimeoutError())


async def test_no_free_connection_in_time_is_an_outage(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", pool_timeout=0.05)
    try:
        async with engine.connect() as held:  # the only pooled SQLite connection
            await held.execute(text("SELECT 1"))
            assert is_database_unavailable(await failure(engine))
    finally:
        await engine.dispose()


def test_failing_loops_back_off_up_to_a_cap() -> None:
    assert [pause_after(n, 1.0) for n in range(6)] == [1.0, 1.0, 2.0, 4.0, 8.0, 15.0]
    assert pause_after(50, 1.0) == MAX_FAILURE_PAUSE
    # An outage is retried on its own schedule, however long the idle poll is.
    assert [pause_after(n, 30.0) for n in range(4)] == [30.0, 1.0, 2.0, 4.0]


async def test_a_work_loop_outlives_an_outage(
    unreachable: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    outage = await failure(unreachable)
    calls = 0
    recovered = asyncio.Event()

    async def step() -> int:
        nonlocal calls
        calls += 1
        if calls <= 2:
            raise outage
        recovered.set()
        return 0

    # A poll of an hour: only notify() makes the loop go round in this test.
    loop = WorkLoop(step, batch=10, poll_seconds=3600, logger=logging.getLogger("t"), what="w")
    task = asyncio.create_task(loop.run())
    with caplog.at_level(logging.WARNING, logger="t"):
        while not recovered.is_set():
            loop.notify()
            await asyncio.sleep(0)
        loop.stop()
        async with asyncio.timeout(10):
            await task
    assert calls == 3
    warnings = [r for r in caplog.records if r.name == "t"]
    assert [r.getMessage() for r in warnings] == ["w failed: database unavailable; will retry"] * 2
    assert all(r.exc_info is None for r in warnings), "an outage is one line, not a traceback"


async def test_an_outage_tolerant_job_logs_and_returns(
    unreachable: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    outage = await failure(unreachable)

    async def tick() -> int:
        raise outage

    async def broken() -> int:
        raise ValueError("a bug")

    log = logging.getLogger("jobs")
    with caplog.at_level(logging.WARNING, logger="jobs"):
        await outage_tolerant(tick, log, "survey tick")()
    assert [r.getMessage() for r in caplog.records] == ["survey tick skipped: database unavailable"]
    assert inspect.unwrap(outage_tolerant(tick, log, "x")) is tick
    with pytest.raises(ValueError, match="a bug"):
        await outage_tolerant(broken, log, "x")()


async def test_a_request_meeting_an_outage_gets_503(
    aiohttp_client: ClientMaker, unreachable: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    async def query(request: web.Request) -> web.Response:
        async with unreachable.connect() as connection:
            await connection.execute(text("SELECT 'secret customer text'"))
        return web.json_response({})

    async def bug(request: web.Request) -> web.Response:
        raise ValueError("not an outage")

    app = web.Application(middlewares=[database_outage_middleware(logging.getLogger("db"))])
    app.router.add_get("/query", query)
    app.router.add_get("/bug", bug)
    client = await aiohttp_client(app)
    with caplog.at_level(logging.WARNING, logger="db"):
        r = await client.get("/query")
    assert r.status == 503
    assert r.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert await r.json() == {"error": "database unavailable"}
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "database unavailable; answered 503" in logged
    assert "hunter2" not in logged and "secret customer text" not in logged
    assert (await client.get("/bug")).status == 500
