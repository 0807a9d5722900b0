"""Plans a survey row when a conversation is resolved; the dispatcher sends it later."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import Clock
from bot.db import SessionFactory
from bot.events import ConversationResolved, EventBus
from bot.models import (
    Conversation,
    ConversationStatus,
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

# The sweep looks back this far for resolved conversations without a survey row, ...
SWEEP_WINDOW = timedelta(days=1)
# ... and leaves the newest alone: their resolution event may still be on its way.
SWEEP_GRACE = timedelta(minutes=1)
SWEEP_BATCH = 200


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
        await self.plan_for(event.conversation_id, event.occurred_at)

    async def sweep(self) -> int:
        """Plan the surveys that a crash left unplanned; return how many were found.

        The resolution event is published after its transaction commits, so a process
        that dies in between leaves a resolved conversation with no survey row. Any
        replica's sweep finds it (conversations resolved in the last day, after a grace
        period for the event in flight) and plans it as the event would have.
        """
        now = self._clock()
        has_survey = exists().where(col(Survey.conversation_id) == col(Conversation.id))
        query = (
            select(Conversation.id, Conversation.closed_at)
            .where(
                col(Conversation.status) == ConversationStatus.RESOLVED,
                col(Conversation.closed_at) >= now - SWEEP_WINDOW,
                col(Conversation.closed_at) <= now - SWEEP_GRACE,
                ~has_survey,
            )
            .order_by(col(Conversation.id))
            .limit(SWEEP_BATCH)
        )
        async with self._sessions() as session:
            missed = [(cid, closed) for cid, closed in (await session.exec(query)).all()]
        for conversation_id, closed_at in missed:
            if conversation_id is not None and closed_at is not None:
                self._log.warning(
                    "survey was never planned; planning it now",
                    extra={"conversation": conversation_id},
                )
                await self.plan_for(conversation_id, closed_at)
        return len(missed)

    async def plan_for(self, conversation_id: int, resolved_at: datetime) -> None:
        """Store the survey for the resolved conversation, due after the delay."""
        now = self._clock()
        due_at = resolved_at + self._policy.delay
        try:
            async with self._sessions() as session, session.begin():
                conversation = await session.get(Conversation, conversation_id)
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
