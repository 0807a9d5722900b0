"""A turn's messages as plain rows, written with one INSERT and queued with another.

The engine gathers a turn's messages (the customer's and the bot's replies) as
`TurnMessage` rows and writes them together when the turn ends. ORM objects cost more
than the database did: building, instrumenting and flushing a `Message` and an `Outbox`
object per reply was about a third of a turn's time, and the turn holds SQLite's one
connection all the while.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.models import Message, Outbox, ProcessedEvent, table_of
from bot.store import outbox_row


@dataclass
class TurnMessage:
    """A message of the turn, made from `bot.store.message_row`; `id` is set once it is
    written."""

    conversation_id: int
    role: str
    text: str
    created_at: datetime
    buttons: list[dict[str, Any]] = field(default_factory=list)
    postback: str | None = None
    faq_entry_id: str | None = None
    faq_score: float | None = None
    # Set on the customer's message after it is made, when the FAQ has been asked.
    decision: str | None = None
    id: int | None = None

    def row(self) -> dict[str, Any]:
        """Every column but the id, for the INSERT."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "id"}


@dataclass(frozen=True)
class _Statements:
    message: Any
    outbox: Any
    processed_event: Any


@cache
def _statements() -> _Statements:
    # Built once: making the expressions again per turn cost more than running them.
    messages = table_of(Message)
    return _Statements(
        # One multi-row INSERT on either database. Not `sort_by_parameter_order`: on SQLite
        # that made SQLAlchemy send one INSERT per row, each a trip to the driver's
        # thread. The ids come back in no promised order, but within one INSERT they are
        # given in row order on both (SQLite's next rowid, PostgreSQL's sequence), so
        # the ascending ids are the rows' ids in the order given.
        message=insert(messages).returning(messages.c.id),
        outbox=insert(table_of(Outbox)),
        processed_event=insert(table_of(ProcessedEvent)),
    )


async def write_messages(session: AsyncSession, messages: Sequence[TurnMessage]) -> None:
    """Write the messages not written yet, in order, with one INSERT; set their ids."""
    unwritten = [m for m in messages if m.id is None]
    if not unwritten:
        return
    result = await session.exec(_statements().message, params=[m.row() for m in unwritten])
    for message, message_id in zip(unwritten, sorted(result.scalars().all()), strict=True):
        message.id = int(message_id)


async def queue_replies(
    session: AsyncSession,
    channel: str,
    replies: Sequence[TurnMessage],
    now: datetime,
    reply_token: str | None = None,
    reply_deadline: datetime | None = None,
) -> None:
    """Queue written replies in the outbox for `channel`, with one INSERT."""
    if not replies:
        return
    rows = []
    for reply in replies:
        assert reply.id is not None, "queue a message once it is written"
        rows.append(
            outbox_row(reply.id, reply.conversation_id, channel, now, reply_token, reply_deadline)
        )
    await session.exec(_statements().outbox, params=rows)


async def mark_processed(session: AsyncSession, channel: str, event_id: str, now: datetime) -> None:
    """Record a platform event as handled; a second record of it raises IntegrityError,
    which is how a redelivered event is told from a new one."""
    await session.exec(
        _statements().processed_event,
        params={"channel": channel, "event_id": event_id, "processed_at": now},
    )
