"""Plans a survey row when a conversation is resolved; the dispatcher sends it later."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import Clock
from bot.db import SessionFactory
from bot.events import ConversationResolved, EventBus
from bot.models import (
    Conversation,
    Handoff,
    Identity,
    Message,
    Role,
    Survey,
    SurveyKind,
    SurveyStatus,
)
from surveys.policy import SurveyPolicy
from surveys.queries import last_survey_due
from surveys.rules import SurveyFacts, plan


class SurveyPlanner:
    """Subscribes to ConversationResolved and stores a planned (or skipped) survey."""

    def __init__(
        self, sessions: SessionFactory, policy: SurveyPolicy, clock: Clock, logger: logging.Logger
    ) -> None:
        self._sessions = sessions
        self._policy = policy
        self._clock = clock
        self._log = logger

    def subscribe(self, bus: EventBus) -> None:
        bus.subscribe(ConversationResolved, self.on_resolved)

    async def on_resolved(self, event: ConversationResolved) -> None:
        """Store the survey for the resolved conversation, due after the delay."""
        now = self._clock()
        due_at = event.occurred_at + self._policy.delay
        try:
            async with self._sessions() as session, session.begin():
                conversation = await session.get(Conversation, event.conversation_id)
                if conversation is None or conversation.id is None:
                    return
                facts = await gather_facts(session, conversation, due_at)
                decision = plan(facts, self._policy)
                survey = Survey(
                    conversation_id=conversation.id,
                    customer_id=conversation.customer_id,
                    channel=conversation.channel,
                    kind=decision.kind,
                    status=SurveyStatus.SKIPPED if decision.skip else SurveyStatus.PLANNED,
                    skip_reason=decision.skip,
                    due_at=due_at,
                    created_at=now,
                )
                session.add(survey)
        except IntegrityError:
            # The unique conversation key: this resolution was already planned.
            return
        self._log.info(
            "survey planned" if decision.skip is None else "survey skipped",
            extra={
                "conversation": event.conversation_id,
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
    return SurveyFacts(
        due_at=due_at,
        asked_faq=asked_faq,
        handed_off=handed_off,
        agent_replied=agent_replied,
        identity_blocked=identity is not None and identity.blocked_at is not None,
        last_survey_due=await last_survey_due(session, conversation.customer_id),
        last_nps_due=await last_survey_due(session, conversation.customer_id, SurveyKind.NPS),
    )


async def _exists(session: AsyncSession, count_query: Any) -> bool:
    return int((await session.exec(count_query)).one()) > 0
