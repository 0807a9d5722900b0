"""Queries and row changes shared by the engine, the channels and the admin API."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any, Protocol

from sqlalchemy import bindparam
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import Select, SelectOfScalar

from bot.messages import Button, Outbound
from bot.models import (
    Conversation,
    ConversationStatus,
    Customer,
    Identity,
    Message,
    Outbox,
    OutboxStatus,
)

OPEN_STATUSES = (ConversationStatus.BOT, ConversationStatus.WAITING, ConversationStatus.AGENT)


async def get_or_create_identity(
    session: AsyncSession, channel: str, external_id: str, now: datetime
) -> Identity:
    """The identity for (channel, external id), creating a new customer for a new one.
    See :func:`identity_and_open_conversation`, which this reads without the
    conversation."""
    query = _identity_query(channel, external_id)
    identity = (await session.exec(query)).first()
    if identity is not None:
        return identity
    return (await _create_identity(session, query, channel, external_id, now))[0]


async def identity_and_open_conversation(
    session: AsyncSession, channel: str, external_id: str, now: datetime
) -> tuple[Identity, Conversation | None]:
    """The identity for (channel, external id), created if new, and its open conversation
    on that channel if any, in one query.

    The identity row is locked on PostgreSQL so that two messages from one customer
    arriving at once are handled one after the other and cannot open two conversations.
    Two transactions that both find no row both insert one; the unique key lets one win,
    and the other, its savepoint (customer included) rolled back, takes the winner's.
    """
    query = _identity_and_conversation_query()
    params = {"channel": channel, "external_id": external_id}
    row = (await session.exec(query, params=params)).first()
    if row is not None:
        return row[0], row[1]
    identity, created = await _create_identity(
        session, _identity_query(channel, external_id), channel, external_id, now
    )
    # ours is new, with no conversation; the winner of a race may have opened one
    return identity, None if created else await open_conversation_for(session, identity)


@cache
def _identity_and_conversation_query() -> Select[Identity, Conversation]:
    # Built once, with bound parameters: building it per message cost more than running it.
    return (
        select(Identity, Conversation)
        .outerjoin(
            Conversation,
            (col(Conversation.identity_id) == col(Identity.id))
            & col(Conversation.status).in_(OPEN_STATUSES),
        )
        .where(
            col(Identity.channel) == bindparam("channel"),
            col(Identity.external_id) == bindparam("external_id"),
        )
        .order_by(col(Conversation.id).desc())
        .limit(1)
        # the conversation side may be missing (outer join): only the identity is locked
        .with_for_update(of=Identity)
    )


def _identity_query(channel: str, external_id: str) -> SelectOfScalar[Identity]:
    return (
        select(Identity)
        .where(Identity.channel == channel, Identity.external_id == external_id)
        .with_for_update()
    )


async def _create_identity(
    session: AsyncSession, query: SelectOfScalar[Identity], channel: str, external_id: str,
    now: datetime,
) -> tuple[Identity, bool]:
    """A new customer and identity, or the identity another transaction has just created
    (``False``: not ours)."""
    try:
        async with session.begin_nested():
            customer = Customer(created_at=now)
            session.add(customer)
            await session.flush()
            assert customer.id is not None
            identity = Identity(
                customer_id=customer.id, channel=channel, external_id=external_id, created_at=now
            )
            session.add(identity)
            await session.flush()
        return identity, True
    except IntegrityError:
        # The other insert has committed (PostgreSQL made ours wait for it): read it.
        return (await session.exec(query)).one(), False


async def open_conversation_for(session: AsyncSession, identity: Identity) -> Conversation | None:
    """The customer's open conversation on this identity's channel, if any."""
    query = (
        select(Conversation)
        .where(
            Conversation.identity_id == identity.id,
            col(Conversation.status).in_(OPEN_STATUSES),
        )
        .order_by(col(Conversation.id).desc())
    )
    return (await session.exec(query)).first()


async def add_message(
    session: AsyncSession,
    conversation: Conversation,
    role: str,
    text: str,
    now: datetime,
    *,
    buttons: Sequence[Button] = (),
    decision: str | None = None,
) -> Message:
    """Store a message now and queue it in the outbox for its channel (outside a turn:
    agents' replies, notices, surveys)."""
    assert conversation.id is not None
    message = Message(
        **message_row(conversation.id, role, text, now, buttons=buttons, decision=decision)
    )
    session.add(message)
    await session.flush()
    queue_messages(session, conversation, [message], now)
    return message


def message_row(
    conversation_id: int,
    role: str,
    text: str,
    now: datetime,
    *,
    buttons: Sequence[Button] = (),
    postback: str | None = None,
    faq_entry_id: str | None = None,
    faq_score: float | None = None,
    decision: str | None = None,
) -> dict[str, Any]:
    """A message as a plain row, every column but the id: for a bulk INSERT
    (surveys.dispatcher), a turn's plain rows (bot.turn_writes), and the fields of the
    ORM object `add_message` makes."""
    return {
        "conversation_id": conversation_id,
        "role": role,
        "text": text,
        "buttons": [{"label": b.label, "postback": b.postback} for b in buttons],
        "postback": postback,
        "faq_entry_id": faq_entry_id,
        "faq_score": faq_score,
        "decision": decision,
        "created_at": now,
    }


def outbox_row(
    message_id: int,
    conversation_id: int,
    channel: str,
    now: datetime,
    reply_token: str | None = None,
    reply_deadline: datetime | None = None,
) -> dict[str, Any]:
    """A queued outbox row, every column but the id: for a bulk INSERT, and the fields
    of the ORM objects `queue_messages` makes."""
    return {
        "message_id": message_id,
        "conversation_id": conversation_id,
        "channel": channel,
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "due_at": now,
        "last_error": None,
        "created_at": now,
        "sent_at": None,
        "reply_token": reply_token,
        "reply_deadline": reply_deadline,
    }


def queue_messages(
    session: AsyncSession,
    conversation: Conversation,
    messages: Sequence[Message],
    now: datetime,
    reply_token: str | None = None,
    reply_deadline: datetime | None = None,
) -> None:
    """Queue written `messages` in the outbox for the conversation's channel."""
    assert conversation.id is not None
    for message in messages:
        assert message.id is not None, "queue a message once it is written (flushed)"
        row = outbox_row(
            message.id, conversation.id, conversation.channel, now, reply_token, reply_deadline
        )
        session.add(Outbox(**row))


class StoredMessage(Protocol):
    """A written message: a `Message` row or a turn's `bot.turn_writes.TurnMessage`."""

    @property
    def id(self) -> int | None: ...
    @property
    def conversation_id(self) -> int: ...
    @property
    def role(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def buttons(self) -> list[dict[str, Any]]: ...
    @property
    def created_at(self) -> datetime: ...


def to_outbound(message: StoredMessage) -> Outbound:
    assert message.id is not None
    return Outbound(
        conversation_id=message.conversation_id,
        message_id=message.id,
        role=message.role,
        text=message.text,
        buttons=tuple(Button(b["label"], b["postback"]) for b in message.buttons),
        created_at=message.created_at,
    )


async def recent_messages(session: AsyncSession, conversation_id: int, limit: int) -> list[Message]:
    """The newest `limit` messages of a conversation, oldest first."""
    query = (
        select(Message)
        .where(Message.conversation_id == conversation_id)
        .order_by(col(Message.id).desc())
        .limit(limit)
    )
    return list(reversed((await session.exec(query)).all()))


async def messages_for_customer(
    session: AsyncSession, customer_id: int, channel: str, after: int | None, limit: int
) -> list[Message]:
    """Every message of the customer's conversations on `channel` after id `after`,
    oldest first."""
    query = (
        select(Message)
        .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
        .where(Conversation.customer_id == customer_id, Conversation.channel == channel)
        .order_by(col(Message.id))
        .limit(limit)
    )
    if after is not None:
        query = query.where(col(Message.id) > after)
    return list((await session.exec(query)).all())
