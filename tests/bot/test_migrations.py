"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import UTCDateTime

import bot.models  # noqa: F401  (registers the tables)
from bot.clock import utc_now
from bot.db import alembic_config, make_engine, upgrade
from tests.conftest import Database


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, SQLModel.metadata))


async def test_migrations_match_the_models(database: Database) -> None:
    engine = make_engine(database.url, database.schema)
    try:
        await upgrade(engine)
        async with engine.connect() as connection:
            differences = await connection.run_sync(_differences)
    finally:
        await engine.dispose()
    assert differences == []


def _downgrade(connection: Connection, revision: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.downgrade(cfg, revision)


def _chat_session_columns(connection: Connection) -> set[str]:
    return {column["name"] for column in sa.inspect(connection).get_columns("chat_session")}


CUSTOMER = sa.table("customer", sa.column("id", sa.Integer), sa.column("created_at", UTCDateTime()))
IDENTITY = sa.table(
    "identity",
    sa.column("id", sa.Integer), sa.column("customer_id", sa.Integer),
    sa.column("channel", sa.String), sa.column("external_id", sa.String),
    sa.column("created_at", UTCDateTime()),
)  # fmt: skip
CHAT_SESSION = sa.table(
    "chat_session",
    sa.column("id", sa.String), sa.column("identity_id", sa.Integer),
    sa.column("token_hash", sa.String), sa.column("created_at", UTCDateTime()),
    sa.column("expires_at", UTCDateTime()),
)  # fmt: skip


async def test_chat_session_expiry_migrates_up_and_down_keeping_the_sessions(
    database: Database,
) -> None:
    """0008 gives sessions from before expiry existed a full lifetime from the upgrade
    (none is cut off by it), and its downgrade drops only the column."""
    created = datetime(2025, 1, 15, 8, 0, tzinfo=UTC)  # long before: only "now" counts
    engine = make_engine(database.url, database.schema)
    try:
        await upgrade(engine, "0007")
        async with engine.begin() as connection:
            await connection.execute(sa.insert(CUSTOMER).values(id=1, created_at=created))
            await connection.execute(
                sa.insert(IDENTITY).values(
                    id=1, customer_id=1, channel="web", external_id="s1", created_at=created
                )
            )
            await connection.execute(
                sa.insert(CHAT_SESSION).values(
                    id="s1", identity_id=1, token_hash="h" * 64, created_at=created
                )
            )
        before = utc_now()
        await upgrade(engine)
        after = utc_now()
        async with engine.connect() as connection:
            expiry = (await connection.execute(sa.select(CHAT_SESSION.c.expires_at))).scalar_one()
        lifetime = timedelta(days=30)
        assert before + lifetime <= expiry <= after + lifetime

        async with engine.begin() as connection:
            await connection.run_sync(_downgrade, "0007")
        async with engine.connect() as connection:
            assert "expires_at" not in await connection.run_sync(_chat_session_columns)
            ids = (await connection.execute(sa.select(CHAT_SESSION.c.id))).scalars().all()
        assert ids == ["s1"]
        await upgrade(engine)  # and up again, with the row in place
        async with engine.connect() as connection:
            assert "expires_at" in await connection.run_sync(_chat_session_columns)
            differences = await connection.run_sync(_differences)
        assert differences == []
    finally:
        await engine.dispose()
