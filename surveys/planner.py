"""Plans a survey row when a conversation is resolved; the dispatcher sends it later."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import Clock
from bot.event_outbox import Subscription
from bot.events import ConversationResolved
from bot.models import (
    Conversation,
    Handoff,
    Identity,
    Message,
    Resolution,
    Role,
    Survey,
    SurveyStatus,
)
from surveys.policy import SurveyPolicy
from surveys.queries import last_due_by_kind
from surveys.rules import SurveyFacts, plan


class SurveyPlanner:
    """Handles ConversationResolved: stores a planned (or skipped) survey."""

    def __init__(
        self,
        policy: SurveyPolicy,
        clock: Clock,
        logger: logging.Logger,
        on_planned: Callable[[datetime], None] | None = None,
    ) -> None:
        self._policy = policy
        self._clock = clock
        self._log = logger
        # Told each planned survey's due time, so the ticker runs then (surveys.timer).
        self._on_planned = on_planned

    def subscription(self) -> Subscription:
        return Subscription("survey_planner", (ConversationResolved,), self.on_resolved)

    async def on_resolved(self, session: AsyncSession, event: ConversationResolved) -> None:
        await self.plan_for(session, event.conversation_id, event.occurred_at)

    async def plan_for(
        self, session: AsyncSession, conversation_id: int, resolved_at: datetime
    ) -> None:
        """Store the survey for the resolved conversation, due after the delay, in the
        caller's transaction; nothing if the conversation has one already."""
        conversation = await session.get(Conversation, conversation_id)
        if conversation is None or conversation.id is None:
            return
        planned = select(func.count()).where(Survey.conversation_id == conversation.id)
        if await _exists(session, planned):
            # The unique conversation key would refuse it anyway, and abort the
            # transaction with it: the conversation was reopened and resolved again.
            return
        due_at = resolved_at + self._policy.delay
        facts = await gather_facts(session, conversation, due_at)
        decision = plan(facts, self._policy)
        session.add(
            Survey(
                conversation_id=conversation.id,
                customer_id=conversation.customer_id,
                channel=conversation.channel,
                kind=decision.kind,
                status=SurveyStatus.SKIPPED if decision.skip else SurveyStatus.PLANNED,
                skip_reason=decision.skip,
                due_at=due_at,
                created_at=self._clock(),
            )
        )
        if decision.skip is None and self._on_planned is not None:
            # Before the commit, which is fine: a survey is due minutes from now, and a
            # tick for one that rolled back finds nothing.
            self._on_planned(due_at)
        self._log.info(
            "survey planned" if decision.skip is None else "survey skipped",
            extra={
                "conversation": conversation_id,
                "kind": decision.kind,
                "reason": decision.skip,
            },
        )


async def gather_facts(
    session: AsyncSession, conversation: Conversation, due_at: datetime
) -> SurveyFacts:
    """Read what the survey rules need about `conversation` and its customer."""
    cid = conversation.id
    asked_faq = await _exists(
        session,
        select(func.count()).where(
            Message.conversation_id == cid,
            Message.role == Role.CUSTOMER,
            col(Message.decision).is_not(None),
        ),
    )
    handed_off = await _exists(session, select(func.count()).where(Handoff.conversation_id == cid))
    agent_replied = await _exists(
        session,
        select(func.count()).where(Message.conversation_id == cid, Message.role == Role.AGENT),
    )
    identity = await session.get(Identity, conversation.identity_id)
    last_due = await last_due_by_kind(session, conversation.customer_id)
    return SurveyFacts(
        due_at=due_at,
        asked_faq=asked_faq,
        handed_off=handed_off,
        agent_replied=agent_replied,
        identity_blocked=identity is not None and identity.blocked_at is not None,
        last_survey_due=max(last_due.values(), default=None),
        last_due_by_kind=last_due,
        self_resolved=conversation.resolution == Resolution.SELF,
    )


async def _exists(session: AsyncSession, count_query: Any) -> bool:
    return int((await session.exec(count_query)).one()) > 0
