"""A returning customer is remembered: "Is this about your question on 12/3 about ...?"

The rules:

* When a customer opens a new conversation by writing (not a LINE follow, not a link
  code) and has a case that closed within the window (`HELPDESK_RETURNING_DAYS`, on any
  linked channel; see `handoff.history` for what a case is), the new conversation
  remembers that case (`conversation.returning_of`): one query, made only when a
  conversation is opened.
* The bot asks about it once, at the end of its first reply that has no buttons of its
  own (a greeting, small talk; for a handoff, after the queue notice that follows it).
  A reply with buttons (an FAQ answer's "did this help?", suggestions) keeps them as
  they are: LINE shows only the last message's quick reply, so a second set of buttons
  would hide the first. A conversation that is resolved before such a reply is not
  asked.
* "Yes" marks the conversation a follow-up of that case (`follow_up = true`), and the
  FCR report counts it as one whatever its window; "No" marks it a new matter, and the
  FCR report does not count it against the earlier case. A tap on a stale button (the
  conversation has moved on) is told so and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.messages import Button
from bot.models import Conversation
from bot.postbacks import Postback, PostbackKind
from bot.texts import Texts
from handoff.history import latest_closed_case, past_cases


@dataclass(frozen=True)
class ReturningPrompt:
    text: str
    buttons: tuple[Button, ...]


class ReturningCustomers:
    def __init__(self, window: timedelta, texts: Texts, timezone: tzinfo) -> None:
        self._window = window
        self._texts = texts
        self._tz = timezone

    async def earlier_case(
        self, session: AsyncSession, customer_id: int, now: datetime
    ) -> int | None:
        """The case a conversation opened now may follow up, if any."""
        return await latest_closed_case(session, customer_id, now - self._window)

    async def prompt(
        self, session: AsyncSession, conversation: Conversation, now: datetime
    ) -> ReturningPrompt | None:
        """The question about the earlier case, once per conversation; None when it was
        asked or answered already, or there is nothing to ask about."""
        earlier = conversation.returning_of
        asked = conversation.returning_asked_at is not None or conversation.follow_up is not None
        if earlier is None or asked:
            return None
        cases = await past_cases(session, conversation.customer_id, only=earlier, limit=1)
        conversation.returning_asked_at = now
        if not cases:
            return None
        case = cases[0]
        locale = conversation.locale
        day = case.opened_at.astimezone(self._tz)
        date = f"{day.month}/{day.day}"
        # a case of images or stickers only has no words to quote
        text = (
            self._texts.format("returning_question", locale, date=date, topic=case.topic)
            if case.topic
            else self._texts.format("returning_question_no_topic", locale, date=date)
        )
        target = str(earlier)
        return ReturningPrompt(
            text,
            (
                Button(
                    self._texts.get("returning_yes", locale),
                    Postback(PostbackKind.RETURNING_YES, target).encode(),
                ),
                Button(
                    self._texts.get("returning_no", locale),
                    Postback(PostbackKind.RETURNING_NO, target).encode(),
                ),
            ),
        )

    def answer(self, conversation: Conversation, postback: Postback) -> str | None:
        """Record Yes or No; the reply's text key, or None for a stale button."""
        if conversation.returning_of is None or postback.entry_id != str(
            conversation.returning_of
        ):
            return None
        conversation.follow_up = postback.kind is PostbackKind.RETURNING_YES
        return "returning_linked" if conversation.follow_up else "returning_new"
