"""Closing the loop: a low survey score becomes a post in the Slack handoff channel.

The alert is a row in the Slack outbox (`slack_post`), written in the transaction that
records the score, so it is retried until Slack takes it and never lost. A conversation
that was a Slack case gets the alert in the case's thread, broadcast to the channel (so
the link to the thread comes with it); any other conversation gets a message of its own.
Either way the alert has a "Reopen and follow up" button (see `HandoffService.reopen`).
The Slack poster polls its table every second, so no wake-up call is needed here.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.models import Conversation, SlackPost, SlackPostKind, Survey, SurveyKind
from channels.slack.cases import transcript
from channels.slack.mrkdwn import escape
from channels.slack.render import RECENT_MESSAGES, alert_blocks
from handoff.service import latest_handoff
from surveys.rules import score_range

CHANNEL_NAMES = {"line": "LINE", "web": "web chat"}
# A comment is customer text: cut it to stay far below Slack's 40,000-character limit.
MAX_QUOTED_CHARS = 1500
_ALERT_TITLES = {
    SurveyKind.NPS: "NPS detractor",
    SurveyKind.CSAT: "Unhappy CSAT",
    SurveyKind.CES: "Hard CES",
}


class SlackSurveyAlerts:
    """Queues low-score alerts for the Slack desk (wired only when Slack is configured)."""

    async def low_score(
        self, session: AsyncSession, survey: Survey, conversation: Conversation, now: datetime
    ) -> None:
        assert conversation.id is not None
        handoff = await latest_handoff(session, conversation.id)
        text = alert_text(survey, conversation)
        if handoff is not None and handoff.id is not None:
            # the case's thread holds the transcript already
            blocks = alert_blocks(text, conversation.id)
            post = SlackPost(
                conversation_id=conversation.id, handoff_id=handoff.id,
                kind=SlackPostKind.THREAD,
                payload={"text": text, "blocks": blocks, "broadcast": True},
                due_at=now, created_at=now,
            )  # fmt: skip
        else:
            recent = await transcript(session, conversation.id, limit=RECENT_MESSAGES)
            blocks = alert_blocks(text, conversation.id, recent)
            post = SlackPost(
                conversation_id=conversation.id, handoff_id=None, kind=SlackPostKind.ALERT,
                payload={"text": text, "blocks": blocks}, due_at=now, created_at=now,
            )  # fmt: skip
        session.add(post)


def alert_text(survey: Survey, conversation: Conversation) -> str:
    """The alert in Slack mrkdwn: score, channel, conversation and the comment, if any."""
    scale = score_range(survey.kind)[-1]
    channel = CHANNEL_NAMES.get(conversation.channel, conversation.channel)
    what = _ALERT_TITLES[SurveyKind(survey.kind)]
    lines = [
        f":warning: *{what}*: {survey.kind.upper()} {survey.score}/{scale} "
        f"from customer #{conversation.customer_id} on {channel} "
        f"(conversation #{conversation.id})"
    ]
    if survey.comment:
        lines.append("> " + escape(survey.comment[:MAX_QUOTED_CHARS]).replace("\n", "\n> "))
    return "\n".join(lines)
