"""SQLite statements in one trip to aiosqlite's thread instead of four.

aiosqlite runs each sqlite3 call on its own thread, and SQLAlchemy's adapter makes four
calls per statement: open a cursor, execute, fetch the rows, close the cursor. Each is a
hand-off to that thread and back through the event loop, and under load the loop is
busy, so every hand-off waits its turn while the statement's transaction holds SQLite's
one connection. The cursor here does all four in one function on the thread; a turn
spent about a quarter of its time in those hand-offs.

The adapter classes are SQLAlchemy's own (`sqlalchemy.dialects.sqlite.aiosqlite`); only
the cursor differs, and it is given to the dialect as its DB-API module
(`create_async_engine(..., module=one_hop_dbapi())`). They are internal to SQLAlchemy,
which is why pyproject.toml pins it to one minor version; the SQLite tests exercise
every kind of statement through this cursor.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT

# (description, rows, rowcount, lastrowid) of one statement, read on the thread
_Outcome = tuple[Any, list[Any], int, int | None]


def _run(
    connection: sqlite3.Connection, operation: str, parameters: Any, many: bool
) -> _Outcome:
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        else:
            cursor.execute(operation, () if parameters is None else parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        # read after the fetch: with RETURNING, SQLite counts the rows as they are stepped
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class _OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor whose statement, fetch and close are one call on the thread."""

    __slots__ = ("_arraysize", "_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: Any) -> None:
        # No aiosqlite cursor is opened here (that was a trip of its own).
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> Any:
        return self._lastrowid

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    async def _async_soft_close(self) -> None:
        # The sqlite3 cursor was closed on the thread; the rows stay buffered.
        return None

    def close(self) -> None:
        self._rows.clear()

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        await self._call(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        await self._call(operation, seq_of_parameters, many=True)

    async def _call(self, operation: str, parameters: Any, *, many: bool) -> None:
        async with self._adapt_connection._execute_mutex:
            connection = cast(aiosqlite.Connection, self._connection)
            # `_conn` raises ValueError once closed, which the adapter turns into a DB-API
            # error; `_execute` (untyped) queues the call on the connection's thread.
            raw = connection._conn
            queue: Callable[..., Awaitable[_Outcome]] = connection._execute
            outcome = await queue(_run, raw, operation, parameters, many)
            self._description, rows, self._rowcount, self._lastrowid = outcome
            self._rows = collections.deque(rows)

    def nextset(self) -> None:
        return None

    def setinputsizes(self, *inputsizes: Sequence[Any]) -> None:
        return None


class _OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = _OneHopCursor


class _OneHopDbapi(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> Any:
        adapted = super().connect(*arg, **kw)
        return _OneHopConnection(self, adapted._connection)


def one_hop_dbapi() -> Any:
    """The DB-API module to give the `sqlite+aiosqlite` dialect (its `module` argument)."""
    return _OneHopDbapi(aiosqlite, sqlite3)
