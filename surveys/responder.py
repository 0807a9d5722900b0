"""Survey answers and the optional comment, as the engine's survey hook.

The comment rule: after a score the bot asks one free-text question. The same identity's
next text message within the comment window (30 minutes) is stored as the comment,
unless the engine sees a new request in it (an open conversation, a link code, a request
for a person, or a question the FAQ answers confidently); then the window closes and
the message is handled as usual. Either way only one text is ever taken.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Protocol

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.engine import SurveyReplies
from bot.models import Conversation, Identity, Survey, SurveyStatus
from bot.postbacks import parse_survey_answer
from bot.texts import Texts
from surveys.policy import SurveyPolicy
from surveys.rules import is_low_score, is_promoter, score_range

# A comment longer than this is cut: it is feedback, not a letter.
MAX_COMMENT_CHARS = 2000


class LowScoreAlerts(Protocol):
    """Tells the agents about an unhappy customer (the Slack desk, when configured)."""

    async def low_score(
        self, session: AsyncSession, survey: Survey, conversation: Conversation, now: datetime
    ) -> None: ...


class SurveyResponder:
    """Records scores and comments; implements `bot.engine.SurveyHook`."""

    def __init__(
        self,
        texts: Texts,
        policy: SurveyPolicy,
        alerts: LowScoreAlerts | None,
        logger: logging.Logger,
    ) -> None:
        self._texts = texts
        self._policy = policy
        self._alerts = alerts
        self._log = logger

    async def answer(
        self, session: AsyncSession, identity: Identity, postback: str, now: datetime
    ) -> SurveyReplies | None:
        parsed = parse_survey_answer(postback)
        if parsed is None:
            return None
        survey_id, score = parsed
        survey = await session.get(Survey, survey_id, with_for_update=True)
        if survey is None:
            return None
        conversation = await session.get(Conversation, survey.conversation_id)
        # Only the surveyed customer's taps count (the postback is customer-controlled).
        if conversation is None or conversation.customer_id != identity.customer_id:
            return None
        assert conversation.id is not None
        locale = conversation.locale
        if survey.status == SurveyStatus.SENT and survey.expires_at is not None:
            if now >= survey.expires_at:
                survey.status = SurveyStatus.EXPIRED
        scale = score_range(survey.kind)
        if survey.status == SurveyStatus.SENT and score not in scale:
            # Not one of the buttons (a forged or garbled postback): the survey stays
            # open, and the customer is told the scale.
            self._log.info("survey score outside the scale", extra={"survey": survey_id})
            invalid = self._texts.format(
                "survey_score_invalid", locale, low=scale[0], high=scale[-1]
            )
            return SurveyReplies(conversation.id, (invalid,))
        if survey.status != SurveyStatus.SENT:
            # Late or repeated: thank the customer, count nothing.
            self._log.info(
                "survey answer not counted", extra={"survey": survey_id, "status": survey.status}
            )
            return SurveyReplies(conversation.id, (self._texts.get("survey_closed", locale),))
        survey.status = SurveyStatus.ANSWERED
        survey.score = score
        survey.answered_at = now
        survey.comment_until = now + self._policy.comment_window
        texts = [self._texts.get("survey_thanks", locale)]
        if is_promoter(survey.kind, score) and self._policy.review_url is not None:
            texts.append(self._texts.format("survey_review", locale, url=self._policy.review_url))
        low = is_low_score(survey.kind, score)
        follow_up = "survey_follow_up_detractor" if low else "survey_follow_up"
        texts.append(self._texts.get(follow_up, locale))
        if self._alerts is not None and low:
            await self._alerts.low_score(session, survey, conversation, now)
        self._log.info(
            "survey answered", extra={"survey": survey_id, "kind": survey.kind, "score": score}
        )
        return SurveyReplies(conversation.id, tuple(texts))

    async def awaiting_comment(
        self, session: AsyncSession, identity: Identity, now: datetime
    ) -> int | None:
        query = (
            select(Survey.id)
            .join(Conversation, col(Conversation.id) == col(Survey.conversation_id))
            .where(
                Conversation.identity_id == identity.id,
                Survey.status == SurveyStatus.ANSWERED,
                col(Survey.comment_until) > now,
            )
            .order_by(col(Survey.id).desc())
            .limit(1)
        )
        return (await session.exec(query)).first()

    async def take_comment(
        self, session: AsyncSession, survey_id: int, text: str, now: datetime
    ) -> SurveyReplies:
        survey = await session.get(Survey, survey_id, with_for_update=True)
        assert survey is not None and survey.score is not None
        conversation = await session.get(Conversation, survey.conversation_id)
        assert conversation is not None and conversation.id is not None
        survey.comment = text.strip()[:MAX_COMMENT_CHARS]
        survey.comment_until = None
        if self._alerts is not None and is_low_score(survey.kind, survey.score):
            # The agents heard the score already; the reason is worth a second note.
            await self._alerts.low_score(session, survey, conversation, now)
        thanks = self._texts.get("survey_comment_thanks", conversation.locale)
        return SurveyReplies(conversation.id, (thanks,))

    async def drop_comment(self, session: AsyncSession, survey_id: int) -> None:
        survey = await session.get(Survey, survey_id)
        if survey is not None:
            survey.comment_until = None
