"""The human side of a case, whatever tool the agents use: claim, reply, resolve.

Each method is one transaction whose state change is a conditional update, so two agents
clicking at once (or two replicas handling the same click) produce one winner. Messages
for the customer are stored with `bot.store.add_message`, which queues them, so the
outbox takes them to the customer's own channel. Domain events are recorded in the same
transaction (`bot.event_outbox`) and delivered after the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import CursorResult, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import Clock
from bot.db import SessionFactory
from bot.event_outbox import EventOutbox
from bot.events import (
    CaseReopened,
    ConversationResolved,
    DomainEvent,
    HandoffClaimed,
)
from bot.models import (
    Conversation,
    ConversationStatus,
    EventDelivery,
    Handoff,
    HandoffReason,
    Identity,
    ProcessedEvent,
    Resolution,
    Role,
)
from bot.store import add_message, open_conversation_for
from bot.texts import Texts

HANDED_OFF = (ConversationStatus.WAITING, ConversationStatus.AGENT)


@dataclass(frozen=True)
class ClaimResult:
    """`claimed` is True for the one call that took the case; `agent_*` say who has it."""

    claimed: bool
    agent_ref: str | None
    agent_name: str | None
    open: bool  # False when the case is resolved (or there is none)


class ReplyOutcome(StrEnum):
    SENT = "sent"  # queued for the customer
    DUPLICATE = "duplicate"  # this platform event was handled before
    CLOSED = "closed"  # the case is resolved: nothing was sent


@dataclass(frozen=True)
class ReopenResult:
    """`reopened` is True for the one call that reopened; else `reason` says why not."""

    reopened: bool
    reason: str | None = None


@dataclass(frozen=True)
class ResolveResult:
    resolved: bool  # False when it was already resolved (or there is no case)
    closed_by: str | None


async def latest_handoff(session: AsyncSession, conversation_id: int) -> Handoff | None:
    """The conversation's latest handoff, open or closed."""
    query = (
        select(Handoff)
        .where(Handoff.conversation_id == conversation_id)
        .order_by(col(Handoff.id).desc())
        .limit(1)
    )
    return (await session.exec(query)).first()


async def open_handoff(session: AsyncSession, conversation_id: int) -> Handoff | None:
    """The conversation's latest handoff that is not closed."""
    query = (
        select(Handoff)
        .where(Handoff.conversation_id == conversation_id, col(Handoff.closed_at).is_(None))
        .order_by(col(Handoff.id).desc())
        .limit(1)
    )
    return (await session.exec(query)).first()


class HandoffService:
    def __init__(
        self,
        sessions: SessionFactory,
        texts: Texts,
        events: EventOutbox,
        clock: Clock,
        on_outbox: Callable[[], None],
        logger: logging.Logger,
    ) -> None:
        self._sessions = sessions
        self._texts = texts
        self._events = events
        self._clock = clock
        self._on_outbox = on_outbox
        self._log = logger

    async def claim(self, conversation_id: int, agent_ref: str, agent_name: str) -> ClaimResult:
        """Give the case to this agent unless someone has it; tell the customer."""
        events: list[DomainEvent] = []
        async with self._sessions() as session, session.begin():
            conversation = await session.get(Conversation, conversation_id)
            handoff = await open_handoff(session, conversation_id)
            if conversation is None or handoff is None:
                return ClaimResult(False, None, None, open=False)
            won = await self._take(session, conversation, handoff, agent_ref, agent_name, events)
            if not won:
                await session.refresh(handoff)
                return ClaimResult(False, handoff.agent_ref, handoff.agent_name, open=True)
            text = self._texts.format("agent_joined", conversation.locale, agent=agent_name)
            await add_message(session, conversation, Role.BOT, text, self._clock())
            deliveries = await self._events.record(session, events)
        await self._after_commit(deliveries)
        self._log.info("case claimed", extra={"conversation": conversation_id, "agent": agent_ref})
        return ClaimResult(True, agent_ref, agent_name, open=True)

    async def agent_reply(
        self,
        conversation_id: int,
        agent_ref: str,
        text: str,
        *,
        dedupe: tuple[str, str] | None = None,
    ) -> ReplyOutcome:
        """Queue an agent's answer for the customer, on the customer's channel.

        `dedupe` is (platform, event id): a redelivered event sends nothing twice. The
        first reply of a case records its first response time, and a reply to a case
        nobody claimed gives it to the agent who answered.
        """
        events: list[DomainEvent] = []
        now = self._clock()
        try:
            async with self._sessions() as session, session.begin():
                if dedupe is not None:
                    session.add(
                        ProcessedEvent(channel=dedupe[0], event_id=dedupe[1], processed_at=now)
                    )
                    await session.flush()
                conversation = await session.get(Conversation, conversation_id)
                handoff = await open_handoff(session, conversation_id)
                if conversation is None or handoff is None or conversation.status not in HANDED_OFF:
                    return ReplyOutcome.CLOSED
                if handoff.claimed_at is None:
                    await self._take(session, conversation, handoff, agent_ref, None, events)
                await add_message(session, conversation, Role.AGENT, text, now)
                await session.exec(
                    update(Handoff)
                    .where(col(Handoff.id) == handoff.id, col(Handoff.first_response_at).is_(None))
                    .values(first_response_at=now)
                )
                deliveries = await self._events.record(session, events)
        except IntegrityError:
            if dedupe is None:
                raise
            return ReplyOutcome.DUPLICATE
        await self._after_commit(deliveries)
        return ReplyOutcome.SENT

    async def resolve(self, conversation_id: int, by: str) -> ResolveResult:
        """Close the case and the conversation as resolved by an agent; tell the customer.

        Publishes ConversationResolved (surveys hook in there)."""
        now = self._clock()
        async with self._sessions() as session, session.begin():
            conversation = await session.get(Conversation, conversation_id)
            if conversation is None:
                return ResolveResult(False, None)
            changed = await _rowcount(
                session,
                update(Conversation)
                .where(
                    col(Conversation.id) == conversation_id,
                    col(Conversation.status).in_(HANDED_OFF),
                )
                .values(
                    status=ConversationStatus.RESOLVED,
                    resolution=Resolution.AGENT,
                    closed_at=now,
                ),
            )
            if not changed:
                handoff = await latest_handoff(session, conversation_id)
                return ResolveResult(False, handoff.closed_by if handoff else None)
            await session.exec(
                update(Handoff)
                .where(
                    col(Handoff.conversation_id) == conversation_id,
                    col(Handoff.closed_at).is_(None),
                )
                .values(closed_at=now, closed_by=by, remind_at=None)
            )
            await session.refresh(conversation)
            text = self._texts.get("resolved_by_agent", conversation.locale)
            await add_message(session, conversation, Role.BOT, text, now, decision="resolved")
            event = ConversationResolved(
                conversation_id=conversation_id,
                customer_id=conversation.customer_id,
                channel=conversation.channel,
                occurred_at=now,
                resolution=Resolution.AGENT,
            )
            deliveries = await self._events.record(session, [event])
        await self._after_commit(deliveries)
        self._log.info("case resolved", extra={"conversation": conversation_id, "by": by})
        return ResolveResult(True, by)

    async def reopen(
        self, conversation_id: int, agent_ref: str, agent_name: str | None
    ) -> ReopenResult:
        """Reopen a resolved conversation as a case the agent already holds, so they can
        follow up a low survey score; the customer is told who is taking it up.

        Refused while the customer has another conversation open: their messages go
        there, so the agent should follow up in that one.
        """
        now = self._clock()
        async with self._sessions() as session, session.begin():
            conversation = await session.get(Conversation, conversation_id)
            if conversation is None:
                return ReopenResult(False, "there is no such conversation")
            identity = await session.get(Identity, conversation.identity_id)
            newer = await open_conversation_for(session, identity) if identity else None
            if newer is not None and newer.id != conversation_id:
                return ReopenResult(
                    False, f"the customer has a newer open conversation (#{newer.id})"
                )
            changed = await _rowcount(
                session,
                update(Conversation)
                .where(
                    col(Conversation.id) == conversation_id,
                    col(Conversation.status) == ConversationStatus.RESOLVED,
                )
                .values(status=ConversationStatus.AGENT, resolution=None, closed_at=None),
            )
            if not changed:
                return ReopenResult(False, "the conversation is already open")
            handoff = Handoff(
                conversation_id=conversation_id, reason=HandoffReason.SURVEY_FOLLOW_UP,
                requested_at=now, claimed_at=now, agent_ref=agent_ref, agent_name=agent_name,
            )  # fmt: skip
            session.add(handoff)
            await session.flush()
            assert handoff.id is not None
            await session.refresh(conversation)
            name = agent_name or self._texts.get("agent_sender_name", conversation.locale)
            text = self._texts.format("agent_joined", conversation.locale, agent=name)
            await add_message(session, conversation, Role.BOT, text, now)
            event = CaseReopened(
                conversation_id=conversation_id, customer_id=conversation.customer_id,
                channel=conversation.channel, occurred_at=now, handoff_id=handoff.id,
                agent_ref=agent_ref, agent_name=agent_name,
            )  # fmt: skip
            deliveries = await self._events.record(session, [event])
        await self._after_commit(deliveries)
        self._log.info("case reopened", extra={"conversation": conversation_id, "agent": agent_ref})
        return ReopenResult(True)

    async def _take(
        self,
        session: AsyncSession,
        conversation: Conversation,
        handoff: Handoff,
        agent_ref: str,
        agent_name: str | None,
        events: list[DomainEvent],
    ) -> bool:
        """The conditional update at the heart of a claim: True for the winner only."""
        now = self._clock()
        won = await _rowcount(
            session,
            update(Handoff)
            .where(
                col(Handoff.id) == handoff.id,
                col(Handoff.claimed_at).is_(None),
                col(Handoff.closed_at).is_(None),
            )
            .values(claimed_at=now, agent_ref=agent_ref, agent_name=agent_name, remind_at=None),
        )
        if not won:
            return False
        await session.exec(
            update(Conversation)
            .where(
                col(Conversation.id) == conversation.id,
                col(Conversation.status) == ConversationStatus.WAITING,
            )
            .values(status=ConversationStatus.AGENT)
        )
        assert conversation.id is not None and handoff.id is not None
        events.append(
            HandoffClaimed(
                conversation_id=conversation.id,
                customer_id=conversation.customer_id,
                channel=conversation.channel,
                occurred_at=now,
                handoff_id=handoff.id,
                agent_ref=agent_ref,
                agent_name=agent_name,
            )
        )
        return True

    async def _after_commit(self, deliveries: list[EventDelivery]) -> None:
        self._on_outbox()
        await self._events.deliver(deliveries)


async def _rowcount(session: AsyncSession, statement: object) -> int:
    result = await session.exec(statement)  # type: ignore[call-overload]
    assert isinstance(result, CursorResult)
    return int(result.rowcount)
