"""Group commit: concurrent completion writes share one transaction, on both databases,
and share its failure."""

from __future__ import annotations

import asyncio

from sqlalchemy import text, update
from sqlmodel import col, select

from bot.group_commit import GroupCommit
from bot.models import Outbox, OutboxStatus
from bot.statement_count import StatementCount
from tests.bot.conftest import Harness


async def outbox_ids(harness: Harness) -> list[int]:
    for n in range(5):
        await harness.say("パスワード忘れた", who=f"c{n}")
    async with harness.sessions() as session:
        return [int(i) for i in (await session.exec(select(Outbox.id))).all() if i is not None]


def mark_sent(row_id: int) -> object:
    return update(Outbox).where(col(Outbox.id) == row_id).values(status=OutboxStatus.SENT)


async def test_concurrent_writes_commit_together(harness: Harness) -> None:
    ids = await outbox_ids(harness)
    commit = GroupCommit(harness.sessions)
    with StatementCount(harness.db) as count:
        await asyncio.gather(*(commit.execute(mark_sent(i)) for i in ids))
    assert count.transactions == 1 and len(count) == len(ids)
    async with harness.sessions() as session:
        statuses = (await session.exec(select(Outbox.status))).all()
    assert set(statuses) == {OutboxStatus.SENT}
    # Alone, a write commits alone, at once.
    with StatementCount(harness.db) as count:
        await commit.execute(mark_sent(ids[0]))
    assert count.transactions == 1 and len(count) == 1


async def test_a_failed_group_fails_every_write_in_it_and_commits_none(
    harness: Harness,
) -> None:
    ids = await outbox_ids(harness)
    commit = GroupCommit(harness.sessions)
    writes = [commit.execute(mark_sent(i)) for i in ids[:3]]
    writes.append(commit.execute(text("UPDATE no_such_table SET x = 1")))
    results = await asyncio.gather(*writes, return_exceptions=True)
    assert all(isinstance(r, Exception) for r in results)
    async with harness.sessions() as session:
        statuses = (await session.exec(select(Outbox.status))).all()
    assert OutboxStatus.SENT not in statuses
    # The next group is not held back by the failed one.
    await commit.execute(mark_sent(ids[0]))
    async with harness.sessions() as session:
        sent = await session.get(Outbox, ids[0])
    assert sent is not None and sent.status == OutboxStatus.SENT
