"""`POST /slack/events`: events, button clicks and `/helpdesk` on one URL, via slack-bolt.

The signature and the request's age are checked over the raw body before anything is
parsed (`channels.slack.signed_request`), and Bolt checks them again. Listeners run
before the response (`process_before_response`): each only writes rows (an agent's reply,
a claim, queued Slack posts), which is quick, and a failure then becomes a 500 that
Slack retries instead of a lost reply. Slack posts themselves go through the Slack
outbox. A retried event is recognised by its `event_id` in `processed_event`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlmodel import col, select

from bot.clock import Clock
from bot.db import SessionFactory
from bot.metrics import Metrics
from bot.models import Handoff, ProcessedEvent
from bot.row_ids import parse_row_id
from channels.slack.agent_access import AgentAccess
from channels.slack.commands import HelpdeskCommand
from channels.slack.desk import SlackDesk
from channels.slack.mrkdwn import to_plain
from channels.slack.render import CLAIM, REOPEN, RESOLVE, TRANSCRIPT
from channels.slack.signed_request import SlackRequestRefused, read_signed_request
from handoff.service import HandoffService, ReplyOutcome

SLACK = "slack"
EVENTS_PATH = "/slack/events"
# Message subtypes that are a person writing; edits, deletions, joins and other bots'
# posts are not replies to the customer.
HUMAN_SUBTYPES = (None, "thread_broadcast", "file_share")
_NOTE = re.compile(r"^\s*note\s*:", re.IGNORECASE)


def is_internal_note(text: str) -> bool:
    """A reply starting with "note:" stays in Slack."""
    return _NOTE.match(text) is not None


class SlackEventsEndpoint:
    def __init__(
        self,
        signing_secret: str,
        client: AsyncWebClient,
        sessions: SessionFactory,
        handoffs: HandoffService,
        desk: SlackDesk,
        command: HelpdeskCommand,
        access: AgentAccess,
        clock: Clock,
        logger: logging.Logger,
        metrics: Metrics | None = None,
    ) -> None:
        self._metrics = metrics or Metrics.create()
        self._client = client
        self._sessions = sessions
        self._handoffs = handoffs
        self._desk = desk
        self._command = command
        self._access = access
        self._clock = clock
        self._log = logger
        self._signing_secret = signing_secret
        self.bolt = AsyncApp(
            signing_secret=signing_secret,
            client=client,
            process_before_response=True,
            # read_signed_request has checked the signature and its age by the injected
            # clock; Bolt's own check would read the wall clock a second time.
            request_verification_enabled=False,
            logger=logger,
        )
        self.bolt.middleware(self._skip_processed_retries)
        self.bolt.event("message")(self._on_message)
        self.bolt.action(CLAIM)(self._on_claim)
        self.bolt.action(RESOLVE)(self._on_resolve)
        self.bolt.action(TRANSCRIPT)(self._on_transcript)
        self.bolt.action(REOPEN)(self._on_reopen)
        self.bolt.command("/helpdesk")(self._on_command)

    def register(self, router: web.UrlDispatcher) -> None:
        router.add_post(EVENTS_PATH, self.receive)

    async def receive(self, request: web.Request) -> web.Response:
        try:
            bolt_request = await read_signed_request(request, self._signing_secret, self._clock)
        except SlackRequestRefused as refused:
            if refused.response.status == 401:
                self._log.warning("slack request with a missing or wrong signature refused")
            return refused.response
        return await to_aiohttp_response(await self.bolt.async_dispatch(bolt_request))

    async def _skip_processed_retries(
        self, request: AsyncBoltRequest, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse | None:
        """A retry of an event already handled is answered at once, and Slack is asked
        to stop retrying; a retry of one that failed is handled like the first try."""
        event_id = request.body.get("event_id") if isinstance(request.body, dict) else None
        if event_id:
            self._metrics.webhook_events(SLACK, received=1, duplicates=0)
        if request.headers.get("x-slack-retry-num") and event_id:
            async with self._sessions() as session:
                seen = await session.exec(
                    select(ProcessedEvent.id).where(
                        ProcessedEvent.channel == SLACK, ProcessedEvent.event_id == event_id
                    )
                )
                if seen.first() is not None:
                    self._metrics.webhook_events(SLACK, received=0, duplicates=1)
                    self._log.info("slack retry of a handled event", extra={"event": event_id})
                    return BoltResponse(status=200, body="", headers={"x-slack-no-retries": "1"})
        return await next()

    async def _on_message(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        if event.get("subtype") not in HUMAN_SUBTYPES or event.get("bot_id"):
            return  # no echo loops: our own posts and other bots' come back as events
        user, thread_ts = event.get("user"), event.get("thread_ts")
        if not user or not thread_ts or thread_ts == event.get("ts"):
            return  # only replies in a thread can belong to a case
        handoff = await self._case_of_thread(str(event.get("channel")), str(thread_ts))
        if handoff is None:
            return
        text = str(event.get("text") or "")
        if is_internal_note(text):
            return
        plain = to_plain(text)
        if not plain:
            return
        refused = await self._access.agent_refusal(str(user))
        if refused is not None:
            self._log.warning(
                "slack reply from someone not an agent not sent",
                extra={"conversation": handoff.conversation_id},
            )
            await self._tell(
                str(event.get("channel")),
                str(user),
                f"{refused} Your reply was not sent to the customer.",
                thread_ts=str(thread_ts),
            )
            return
        event_id = str(body.get("event_id") or f"{event.get('channel')}:{event.get('ts')}")
        outcome = await self._handoffs.agent_reply(
            handoff.conversation_id, str(user), plain, dedupe=(SLACK, event_id)
        )
        self._log.info(
            "agent reply", extra={"conversation": handoff.conversation_id, "outcome": outcome}
        )
        if outcome is ReplyOutcome.CLOSED:
            await self._tell(
                str(event.get("channel")),
                str(user),
                "This case is resolved, so your reply was not sent to the customer.",
                thread_ts=str(thread_ts),
            )

    async def _on_claim(
        self, ack: Callable[[], Awaitable[None]], body: dict[str, Any], action: dict[str, Any]
    ) -> None:
        click = await self._click(ack, body, action)
        if click is None:
            return
        result = await self._handoffs.claim(click.case, click.agent, click.name)
        if result.claimed:
            return
        if not result.open:
            text = "This case is already resolved."
        elif result.agent_ref == click.agent:
            text = "You already have this case."
        else:
            text = f"<@{result.agent_ref}> already has this case."
        await self._tell(_channel_of(body), click.agent, text)

    async def _on_resolve(
        self, ack: Callable[[], Awaitable[None]], body: dict[str, Any], action: dict[str, Any]
    ) -> None:
        click = await self._click(ack, body, action)
        if click is None:
            return
        result = await self._handoffs.resolve(click.case, by=click.agent)
        if not result.resolved:
            by = f" by <@{result.closed_by}>" if result.closed_by else ""
            await self._tell(_channel_of(body), click.agent, f"This case was already resolved{by}.")

    async def _on_reopen(
        self, ack: Callable[[], Awaitable[None]], body: dict[str, Any], action: dict[str, Any]
    ) -> None:
        click = await self._click(ack, body, action)
        if click is None:
            return
        result = await self._handoffs.reopen(click.case, click.agent, click.name)
        if not result.reopened:
            await self._tell(_channel_of(body), click.agent, f"Not reopened: {result.reason}.")

    async def _on_transcript(
        self, ack: Callable[[], Awaitable[None]], body: dict[str, Any], action: dict[str, Any]
    ) -> None:
        click = await self._click(ack, body, action)
        if click is not None:
            await self._desk.post_transcript(click.case)

    async def _click(
        self, ack: Callable[[], Awaitable[None]], body: dict[str, Any], action: dict[str, Any]
    ) -> CaseClick | None:
        """Acknowledge a button click (Slack wants that within 3 s, whatever follows) and
        read which case and agent it is about; None (after telling why) when the click is
        not an agent's in the handoff channel."""
        await ack()
        click = case_click(body, action)
        if click is None:
            # Our buttons always carry a case number and Slack always names the user.
            self._log.warning(
                "slack button click without a case number or user ignored",
                extra={"action": str(action.get("action_id"))[:50]},
            )
            return None
        channel = _channel_of(body)
        refused = await self._access.refusal(click.agent, channel)
        if refused is not None:
            self._log.warning(
                "slack button click refused", extra={"action": str(action.get("action_id"))[:50]}
            )
            await self._tell(channel, click.agent, refused)
            return None
        return click

    async def _on_command(
        self, ack: Callable[..., Awaitable[None]], command: dict[str, Any]
    ) -> None:
        refused = await self._access.refusal(
            str(command.get("user_id") or ""), str(command.get("channel_id") or "")
        )
        if refused is not None:
            self._log.warning("slack command refused")
            await ack(text=refused, response_type="ephemeral")
            return
        await ack(text=await self._command.run(command), response_type="ephemeral")

    async def _case_of_thread(self, channel: str, thread_ts: str) -> Handoff | None:
        async with self._sessions() as session:
            query = (
                select(Handoff)
                .where(Handoff.slack_channel == channel, Handoff.slack_thread_ts == thread_ts)
                .order_by(col(Handoff.id).desc())
            )
            return (await session.exec(query)).first()

    async def _tell(self, channel: str, user: str, text: str, thread_ts: str | None = None) -> None:
        """An ephemeral note to one agent; best effort, since it only explains."""
        try:
            await self._client.chat_postEphemeral(
                channel=channel, user=user, text=text, thread_ts=thread_ts
            )
        except (SlackApiError, TimeoutError, aiohttp.ClientError, OSError) as exc:
            self._log.warning("ephemeral note not sent", extra={"error": repr(exc)[:200]})


@dataclass(frozen=True)
class CaseClick:
    """A click on one of a case message's buttons: which case, and which agent."""

    case: int
    agent: str
    name: str


def case_click(body: dict[str, Any], action: dict[str, Any]) -> CaseClick | None:
    """The click, or None when the payload lacks a case number or a user id."""
    case = parse_row_id(action.get("value"))
    user = body.get("user")
    if case is None or not isinstance(user, dict):
        return None
    agent = user.get("id")
    if not isinstance(agent, str) or not agent:
        return None
    name = user.get("name") or user.get("username") or agent
    return CaseClick(case, agent, str(name))


def _channel_of(body: dict[str, Any]) -> str:
    channel = body.get("channel") or body.get("container") or {}
    if isinstance(channel, str):
        return channel
    return str(channel.get("id") or channel.get("channel_id") or "")
