"""The async database: engine, sessions and schema migrations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.sqlite_driver import one_hop_dbapi

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

SessionFactory = async_sessionmaker[AsyncSession]


def make_engine(
    url: str, schema: str | None = None, connect_timeout: float | None = None, **kwargs: Any
) -> AsyncEngine:
    """Create the engine; SQLite gets a busy timeout so concurrent writers wait, not fail.

    `schema` (PostgreSQL only) puts every table in that schema, via the search path;
    `connect_timeout` (PostgreSQL only) bounds opening a connection, so an unreachable
    server fails requests quickly (503) instead of holding them for a minute.
    """
    # Errors (and so logs) then show the SQL without its values: those are customers'
    # messages and tokens.
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        connect_args = dict(kwargs.pop("connect_args", {}))
        connect_args.setdefault("timeout", 30)
        # SQLite has one writer at a time. One pooled connection makes concurrent requests
        # queue in the pool instead of meeting SQLITE_BUSY and sleeping in its busy handler,
        # which under load cost seconds at the 99th percentile.
        kwargs.setdefault("pool_size", 1)
        kwargs.setdefault("max_overflow", 0)
        # one trip to aiosqlite's thread per statement, not four (see the module)
        kwargs.setdefault("module", one_hop_dbapi())
        engine = create_async_engine(url, connect_args=connect_args, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # A pooled connection that died with the server is found and replaced on checkout,
    # so the engine recovers by itself once the server is back.
    kwargs.setdefault("pool_pre_ping", True)
    connect_args = dict(kwargs.pop("connect_args", {}))
    if schema is not None:
        connect_args["server_settings"] = {"search_path": schema}
    if connect_timeout is not None:
        connect_args["timeout"] = connect_timeout
    return create_async_engine(url, connect_args=connect_args, **kwargs)


def postgres_pool(url: str, size: int) -> dict[str, Any]:
    """Pool arguments for `make_engine`: up to `size` kept connections and as many again
    under bursts. Every replica holds up to 2 x size, plus one for LISTEN, so replicas x
    (2 x size + 1) must stay under the server's max_connections. SQLite keeps its one."""
    if url.startswith("sqlite"):
        return {}
    return {"pool_size": size, "max_overflow": size}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the one writer; synchronous=NORMAL is still crash-safe
    # in WAL mode and saves an fsync per commit. Foreign keys are off in SQLite by default.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_session_factory(engine: AsyncEngine) -> SessionFactory:
    # expire_on_commit=False: rows are read after commit, and lazy refresh needs greenlet I/O.
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def _upgrade(connection: Connection, revision: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply migrations up to `revision` on the engine's database."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, revision)
