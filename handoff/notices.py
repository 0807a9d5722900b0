"""What a customer is told right after a handoff: their place in the queue, or, outside
business hours, when a person will reply."""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import Clock
from bot.event_outbox import Subscription
from bot.events import HandoffRequested
from bot.models import Conversation, Role
from bot.returning import ReturningCustomers
from bot.store import add_message
from bot.texts import Texts
from faq.decision import Decision
from handoff.hours import BusinessHours, describe_opening
from handoff.queue import queue_position


class HandoffNotices:
    """Handles HandoffRequested; the notice is a bot message queued for delivery."""

    def __init__(
        self,
        texts: Texts,
        hours: BusinessHours,
        clock: Clock,
        on_outbox: Callable[[], None],
        returning: ReturningCustomers | None = None,
    ) -> None:
        self._returning = returning
        self._texts = texts
        self._hours = hours
        self._clock = clock
        self._on_outbox = on_outbox

    def subscription(self) -> Subscription:
        # The notice is a queued message: the outbox sends it once the delivery commits.
        return Subscription(
            "handoff_notice", (HandoffRequested,), self.on_handoff_requested, self._on_outbox
        )

    async def on_handoff_requested(self, session: AsyncSession, event: HandoffRequested) -> None:
        now = self._clock()
        conversation = await session.get(Conversation, event.conversation_id)
        if conversation is None:
            return
        locale = conversation.locale
        if self._hours.is_open(now):
            position = await queue_position(session, event.handoff_id)
            text = self._texts.format("queue_position", locale, position=position)
        else:
            opens = describe_opening(self._hours.next_opening(now), locale)
            text = self._texts.format("outside_hours", locale, opens=opens)
        # Marked like the handoff message itself: the engine says "already queued"
        # once after the last handoff message, and this notice is part of it.
        await add_message(session, conversation, Role.BOT, text, now, decision=Decision.HANDOFF)
        # A returning customer is asked about their earlier case here, after the notice and
        # not in the handoff's own reply: LINE shows only the last message's quick reply.
        prompt = (
            None if self._returning is None
            else await self._returning.prompt(session, conversation, now)
        )  # fmt: skip
        if prompt is not None:
            await add_message(
                session, conversation, Role.BOT, prompt.text, now,
                buttons=prompt.buttons, decision=Decision.HANDOFF,
            )  # fmt: skip
