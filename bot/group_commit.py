"""Group commit: the small completion writes of concurrent workers (an outbox row sent, a
webhook event done) share one transaction instead of each opening its own.

Each caller awaits its own write. Whoever finds no flush under way starts one; writes
that arrive while it runs go in the next. At low load a write commits at once, alone;
under load a dozen commit together. A pooled connection, a BEGIN and a COMMIT per write
were what queued the workers up behind one another, most of all on SQLite's single
connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from bot.db import SessionFactory


@dataclass
class _Write:
    statement: Any
    params: Mapping[str, Any] | None
    done: asyncio.Future[list[Any]]


class GroupCommit:
    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions
        self._pending: list[_Write] = []
        self._flushing: asyncio.Task[None] | None = None

    async def execute(
        self, statement: Any, params: Mapping[str, Any] | None = None
    ) -> list[Any]:
        """Run `statement` in a transaction shared with the writes queued beside it;
        return once that transaction has committed, or raise what made it fail.

        Writes of one statement object with bound `params` run as one executemany: a
        hundred rows marked sent are one round trip to the database, not a hundred.
        Returns the rows the statement returned (RETURNING), for an executemany those of
        the whole run, so a caller picks out its own by their values; else [].
        """
        write = _Write(statement, params, asyncio.get_running_loop().create_future())
        self._pending.append(write)
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush(), name="group commit")
        return await asyncio.shield(write.done)

    async def _flush(self) -> None:
        while self._pending:
            writes: list[_Write] = []
            try:
                returned: list[list[Any]] = []
                async with self._sessions() as session, session.begin():
                    # The connection first, then the writes: those queued while the pool
                    # was busy join this transaction instead of waiting for the next.
                    await session.connection()
                    writes, self._pending = self._pending, []
                    for statement, params, size in _runs(writes):
                        result = await session.exec(statement, params=params)
                        rows = list(result.all()) if _returns_rows(statement) else []
                        returned.extend([rows] * size)
            except asyncio.CancelledError:
                for write in writes or self._take_pending():
                    write.done.cancel()
                raise
            except Exception as exc:
                # Every write of the group shares the outcome: none of them committed.
                for write in writes or self._take_pending():
                    write.done.set_exception(exc)
            else:
                for write, rows in zip(writes, returned, strict=True):
                    write.done.set_result(rows)

    def _take_pending(self) -> list[_Write]:
        # No connection was had: the writes queued so far share the failure.
        writes, self._pending = self._pending, []
        return writes


def _runs(
    writes: list[_Write],
) -> Iterator[tuple[Any, list[Mapping[str, Any]] | None, int]]:
    """The writes in order, each run of one statement with params as one executemany;
    with the number of writes in the run."""
    for _, run in groupby(writes, key=_run_key):
        group = list(run)
        params = [w.params for w in group if w.params is not None]  # all, or none
        yield group[0].statement, params or None, len(group)


def _returns_rows(statement: Any) -> bool:
    # An INSERT or UPDATE with RETURNING exports its columns; plain writes and text none.
    return len(getattr(statement, "exported_columns", ())) > 0


def _run_key(write: _Write) -> int:
    # By identity: SQL expressions overload ==, and a write without params runs alone.
    return id(write.statement) if write.params is not None else id(write)
