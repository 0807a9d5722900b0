"""Domain events in, Slack posts out: the case's root message, the customer's messages in
its thread, status updates, the full transcript on request and reminders for cases
nobody has claimed."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import CursorResult, update
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import Clock
from bot.db import SessionFactory
from bot.event_outbox import Subscription
from bot.events import (
    CaseReopened,
    ConversationResolved,
    CustomerMessageDuringHandoff,
    DomainEvent,
    HandoffClaimed,
    HandoffRequested,
)
from bot.models import Handoff, Message, SlackPostKind
from channels.slack.cases import load_case, transcript
from channels.slack.posts import SlackPoster, add_post, root_post
from channels.slack.render import (
    RECENT_MESSAGES,
    customer_said,
    root_message,
    transcript_posts,
)
from handoff.hours import BusinessHours
from handoff.service import latest_handoff, open_handoff

REMINDER_BATCH = 50


class SlackDesk:
    """Handles the domain events by queueing the Slack posts they call for."""

    def __init__(
        self,
        sessions: SessionFactory,
        poster: SlackPoster,
        hours: BusinessHours,
        remind_after: timedelta,
        clock: Clock,
        logger: logging.Logger,
    ) -> None:
        self._sessions = sessions
        self._poster = poster
        self._hours = hours
        self._remind_after = remind_after
        self._clock = clock
        self._log = logger

    def subscription(self) -> Subscription:
        # Each handler only queues posts; the poster sends them once the delivery commits.
        return Subscription(
            "slack_desk",
            (
                HandoffRequested,
                CaseReopened,
                CustomerMessageDuringHandoff,
                HandoffClaimed,
                ConversationResolved,
            ),
            self.on_event,
            self._poster.notify,
        )

    async def on_event(self, session: AsyncSession, event: DomainEvent) -> None:
        if isinstance(event, HandoffRequested | CaseReopened):
            # A reopened conversation is a new case, already claimed, with its own thread.
            await self.on_handoff_requested(session, event)
        elif isinstance(event, CustomerMessageDuringHandoff):
            await self.on_customer_message(session, event)
        elif isinstance(event, HandoffClaimed):
            text = f":raising_hand: <@{event.agent_ref}> has taken this case."
            await self._update(session, event.handoff_id, text)
        elif isinstance(event, ConversationResolved):
            await self.on_resolved(session, event)

    async def on_handoff_requested(
        self, session: AsyncSession, event: HandoffRequested | CaseReopened
    ) -> None:
        handoff = await session.get(Handoff, event.handoff_id)
        if handoff is None or handoff.id is None:
            return
        if await root_post(session, handoff.id) is None:
            await self._open_case(session, handoff)

    async def on_customer_message(
        self, session: AsyncSession, event: CustomerMessageDuringHandoff
    ) -> None:
        handoff = await open_handoff(session, event.conversation_id)
        message = await session.get(Message, event.message_id)
        if handoff is None or handoff.id is None or message is None:
            return
        if await root_post(session, handoff.id) is None:
            # Handed off before Slack was set up: open the case now; its transcript
            # already holds this message.
            await self._open_case(session, handoff)
        else:
            case = await load_case(session, handoff.id)
            assert case is not None
            payload = customer_said(case, message.text)
            await add_post(session, handoff, SlackPostKind.THREAD, payload, self._clock())

    async def on_resolved(self, session: AsyncSession, event: ConversationResolved) -> None:
        handoff = await latest_handoff(session, event.conversation_id)
        if handoff is None or handoff.id is None:
            return
        by = f" by <@{handoff.closed_by}>" if handoff.closed_by else ""
        await self._update(
            session, handoff.id, f":white_check_mark: Resolved{by}. The customer was told."
        )

    async def post_transcript(self, conversation_id: int) -> bool:
        """Queue the whole conversation into the case's thread; False if no case."""
        async with self._sessions() as session, session.begin():
            handoff = await latest_handoff(session, conversation_id)
            if handoff is None or handoff.id is None:
                return False
            case = await load_case(session, handoff.id)
            assert case is not None
            now = self._clock()
            for payload in transcript_posts(await transcript(session, conversation_id), case):
                await add_post(session, handoff, SlackPostKind.THREAD, payload, now)
        self._poster.notify()
        return True

    async def remind_unclaimed(self) -> int:
        """Raise cases unclaimed for too long in the channel again; return how many.

        Only inside business hours: at night nobody can claim, and every overdue case
        is raised once when the desk opens. The due time lives in `handoff.remind_at`,
        moved on by a conditional update, so replicas do not raise a case twice.
        """
        now = self._clock()
        if not self._hours.is_open(now):
            return 0
        raised = 0
        async with self._sessions() as session, session.begin():
            due = (
                await session.exec(
                    select(Handoff)
                    .where(
                        col(Handoff.remind_at) <= now,
                        col(Handoff.claimed_at).is_(None),
                        col(Handoff.closed_at).is_(None),
                    )
                    .order_by(col(Handoff.remind_at))
                    .limit(REMINDER_BATCH)
                )
            ).all()
            for handoff in due:
                moved = await session.exec(
                    update(Handoff)
                    .where(
                        col(Handoff.id) == handoff.id,
                        col(Handoff.remind_at) == handoff.remind_at,
                        col(Handoff.claimed_at).is_(None),
                    )
                    .values(remind_at=now + self._remind_after)
                )
                assert isinstance(moved, CursorResult)
                if moved.rowcount != 1:
                    continue
                minutes = int((now - handoff.requested_at).total_seconds() // 60)
                text = (
                    f":alarm_clock: Case #{handoff.conversation_id} has waited {minutes} min "
                    "and nobody has claimed it yet."
                )
                await add_post(
                    session, handoff, SlackPostKind.THREAD,
                    {"text": text, "broadcast": True}, now,
                )  # fmt: skip
                raised += 1
        if raised:
            self._log.info("unclaimed cases raised again", extra={"cases": raised})
            self._poster.notify()
        return raised

    async def _open_case(self, session: AsyncSession, handoff: Handoff) -> None:
        assert handoff.id is not None
        case = await load_case(session, handoff.id)
        assert case is not None
        recent = await transcript(session, handoff.conversation_id, RECENT_MESSAGES)
        total = (
            await session.exec(
                select(func.count()).where(Message.conversation_id == handoff.conversation_id)
            )
        ).one()
        now = self._clock()
        await add_post(session, handoff, SlackPostKind.ROOT, root_message(case, recent, total), now)
        if handoff.claimed_at is None:
            handoff.remind_at = handoff.requested_at + self._remind_after

    async def _update(self, session: AsyncSession, handoff_id: int, note: str) -> None:
        handoff = await session.get(Handoff, handoff_id)
        if handoff is None or await root_post(session, handoff_id) is None:
            return
        now = self._clock()
        await add_post(session, handoff, SlackPostKind.UPDATE, {}, now)
        await add_post(session, handoff, SlackPostKind.THREAD, {"text": note}, now)
