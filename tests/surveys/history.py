"""Building conversation histories by hand for the KPI and digest tests."""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.models import Conversation, Message


async def add_conversation(
    s: AsyncSession, customer_id: int, identity_id: int, channel: str, opened: datetime, *,
    closed: datetime | None, resolution: str | None, status: str, answered: str | None,
) -> int:  # fmt: skip
    """A conversation with one customer question and, if `answered` (an FAQ entry id),
    the bot's answer to it; resolved when `closed` is given."""
    row = Conversation(
        customer_id=customer_id, identity_id=identity_id, channel=channel,
        status="resolved" if closed else status, locale="ja", opened_at=opened,
        closed_at=closed, resolution=resolution,
    )  # fmt: skip
    s.add(row)
    await s.flush()
    assert row.id is not None
    s.add(Message(conversation_id=row.id, role="customer", text="q", created_at=opened))
    if answered:
        s.add(Message(conversation_id=row.id, role="bot", text="a", decision="answer",
                      faq_entry_id=answered, created_at=opened))  # fmt: skip
    return row.id
