"""`/helpdesk queue | stats | resolve [case]`: answered to the agent who typed it."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlmodel import col, select

from bot.clock import Clock
from bot.db import SessionFactory
from bot.models import Conversation, ConversationStatus, Handoff
from bot.row_ids import parse_row_id
from channels.slack.mrkdwn import quote, thread_link
from handoff.hours import BusinessHours
from handoff.queue import waiting_cases
from handoff.service import HandoffService
from handoff.stats import day_stats

HELP = (
    "`/helpdesk queue`: waiting cases, oldest first\n"
    "`/helpdesk stats`: today's conversations, handoffs and first response time\n"
    "`/helpdesk resolve [case number]`: resolve a case (without a number: the one "
    "case you have in this channel)"
)
_CASE = re.compile(r"#?(\d+)")


def duration(delta: timedelta) -> str:
    """ "3h 05m", "4m 10s": short enough for a queue line."""
    seconds = max(int(delta.total_seconds()), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {seconds:02d}s"


class HelpdeskCommand:
    def __init__(
        self,
        sessions: SessionFactory,
        handoffs: HandoffService,
        hours: BusinessHours,
        clock: Clock,
    ) -> None:
        self._sessions = sessions
        self._handoffs = handoffs
        self._hours = hours
        self._clock = clock

    async def run(self, command: dict[str, Any]) -> str:
        """The reply to one slash command payload (Slack shows it to that agent only)."""
        verb, _, rest = str(command.get("text") or "").strip().partition(" ")
        verb = verb.lower()
        if verb == "queue":
            return await self.queue()
        if verb == "stats":
            return await self.stats()
        if verb == "resolve":
            return await self.resolve(
                rest.strip(), str(command.get("user_id")), str(command.get("channel_id"))
            )
        return HELP

    async def queue(self) -> str:
        now = self._clock()
        async with self._sessions() as session:
            cases = await waiting_cases(session)
            threads = {
                h.id: h
                for h in (
                    await session.exec(
                        select(Handoff).where(col(Handoff.id).in_([c.handoff_id for c in cases]))
                    )
                ).all()
            }
        if not cases:
            return "No one is waiting. :tada:"
        lines = [f"*{len(cases)} waiting*, oldest first:"]
        for case in cases:
            handoff = threads[case.handoff_id]
            where = (
                f"<{thread_link(handoff.slack_channel, handoff.slack_thread_ts)}|thread>"
                if handoff.slack_channel and handoff.slack_thread_ts
                else "not posted yet"
            )
            said = quote(case.last_customer_text or "", 80)
            lines.append(
                f"• *#{case.conversation_id}* waiting {duration(now - case.requested_at)} "
                f"({case.channel}) {where}: {said}"
            )
        return "\n".join(lines)

    async def stats(self) -> str:
        start, end = self._hours.today(self._clock())
        async with self._sessions() as session:
            day = await day_stats(session, start, end)
        median = duration(day.median_first_response) if day.median_first_response else "n/a"
        return (
            f"*Today* ({start:%Y-%m-%d} {start.tzname()}): {day.conversations} conversations, "
            f"{day.handoffs} handed off, {day.answered} answered by an agent; "
            f"median first response {median}"
        )

    async def resolve(self, argument: str, user: str, channel: str) -> str:
        match = _CASE.fullmatch(argument)
        if match is not None:
            number = parse_row_id(match.group(1))
            if number is None:
                return f"There is no case #{match.group(1)[:20]}."
            conversation_id = number
        else:
            async with self._sessions() as session:
                mine = (
                    await session.exec(
                        select(Handoff.conversation_id)
                        .join(Conversation, col(Conversation.id) == col(Handoff.conversation_id))
                        .where(
                            Handoff.agent_ref == user,
                            Handoff.slack_channel == channel,
                            col(Handoff.closed_at).is_(None),
                            Conversation.status == ConversationStatus.AGENT,
                        )
                    )
                ).all()
            if len(mine) != 1:
                listed = ", ".join(f"#{c}" for c in mine) or "none"
                return f"Which case? `/helpdesk resolve <case number>` (yours here: {listed})"
            conversation_id = mine[0]
        result = await self._handoffs.resolve(conversation_id, by=user)
        if result.resolved:
            return f"Case #{conversation_id} is resolved; the customer was told."
        return f"Case #{conversation_id} is not open."
