"""Counting the SQL statements and transactions a piece of work runs, for the benches and
the test that keeps a turn's statement budget (statements, not seconds: a count does not
depend on how busy the machine is)."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine


class StatementCount:
    """While entered, every statement ``engine`` sends to the database (its first line)
    and every transaction it begins. Not safe across engines: one counter per engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine.sync_engine
        self.statements: list[str] = []
        self.transactions = 0

    def _on_statement(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.statements.append(statement.strip().split("\n", 1)[0])

    def _on_begin(self, _conn: Any) -> None:
        self.transactions += 1

    def reset(self) -> None:
        """Start counting from zero again."""
        self.statements.clear()
        self.transactions = 0

    def __enter__(self) -> StatementCount:
        event.listen(self._engine, "before_cursor_execute", self._on_statement)
        event.listen(self._engine, "begin", self._on_begin)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        event.remove(self._engine, "before_cursor_execute", self._on_statement)
        event.remove(self._engine, "begin", self._on_begin)

    def __len__(self) -> int:
        return len(self.statements)
