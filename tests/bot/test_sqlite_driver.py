"""The SQLite cursor that runs a statement, its fetch and its close in one trip to
aiosqlite's thread: the results SQLAlchemy reads from it are the ones sqlite3 gives, and
a statement costs one trip."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import make_engine


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
    yield engine
    await engine.dispose()


async def test_rows_counts_and_ids_come_back_as_sqlite_gives_them(db: AsyncEngine) -> None:
    async with db.begin() as conn:
        inserted = await conn.execute(
            text("INSERT INTO t (name) VALUES ('a'), ('b'), ('c') RETURNING id, name")
        )
        assert [tuple(r) for r in inserted] == [(1, "a"), (2, "b"), (3, "c")]
        many = await conn.execute(
            text("INSERT INTO t (name) VALUES (:name)"), [{"name": "d"}, {"name": "e"}]
        )
        assert many.rowcount == 2
        one = await conn.execute(text("INSERT INTO t (name) VALUES ('f')"))
        assert one.lastrowid == 6
        updated = await conn.execute(text("UPDATE t SET name = name || '!' WHERE id > 2"))
        assert updated.rowcount == 4
        nothing = await conn.execute(text("DELETE FROM t WHERE id > 100"))
        assert nothing.rowcount == 0
        result = await conn.execute(text("SELECT id FROM t ORDER BY id"))
        assert list(result.keys()) == ["id"]
        assert [r[0] for r in result.fetchmany(2)] == [1, 2]
        assert [r[0] for r in result.fetchall()] == [3, 4, 5, 6]


async def test_errors_reach_the_caller_as_sqlalchemy_errors(db: AsyncEngine) -> None:
    async with db.connect() as conn:
        await conn.execute(text("INSERT INTO t (name) VALUES ('a')"))
        with pytest.raises(IntegrityError):
            await conn.execute(text("INSERT INTO t (name) VALUES ('a')"))
        with pytest.raises(OperationalError):
            await conn.execute(text("SELECT nope FROM t"))
        # the connection is still fine after both
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == 1


async def test_a_statement_is_one_trip_to_the_thread(
    db: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    trips: list[object] = []
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: object, *args: object) -> object:
        trips.append(fn)
        return await original(self, fn, *args)

    async with db.connect() as conn:
        await conn.execute(text("SELECT 1"))  # the pooled connection is open
        monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
        rows = (await conn.execute(text("SELECT id, name FROM t"))).all()
        await conn.execute(text("INSERT INTO t (name) VALUES ('x') RETURNING id"))
    assert rows == []
    # one per statement, then the rollback that returns the connection to the pool
    assert len(trips) == 3
