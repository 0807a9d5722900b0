"""The app with LINE and the Slack desk wired to fake platform APIs, and requests to
`/slack/events` signed exactly as Slack signs them."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import select

from bot.app import SERVICES, Services, create_app
from bot.config import Settings
from bot.models import EventDelivery, Handoff, InboundEvent, Outbox, SlackPost
from tests.channels.test_line import Line
from tests.conftest import Database
from tests.fakes.clock import ManualClock
from tests.fakes.line_api import FakeLineApi
from tests.fakes.settling import unsettled
from tests.fakes.slack_api import TEAM, FakeSlackApi, SlackCall

SLACK_SECRET = "slack-signing-secret-0123456789"
SLACK_TOKEN = "xoxb-1234-5678-slacktoken"
CHANNEL = "C0HANDOFF1"
LINE_SECRET = "line-channel-secret-0123456789"
LINE_TOKEN = "line-access-token-0123456789"
# The people in the handoff channel, who are the agents when no user group is set.
AGENT_TEAM = ("UALICE", "UBOB", "UCAROL", "UDAVE", "UAGENT")

ClientMaker = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]
ServerMaker = Callable[[web.Application], Awaitable[TestServer]]


def slack_signature(timestamp: str, body: bytes) -> str:
    """What Slack sends in X-Slack-Signature: v0= + hex HMAC-SHA256 of v0:{ts}:{body}."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(SLACK_SECRET.encode(), base, hashlib.sha256).hexdigest()


def event_envelope(event: dict[str, Any], event_id: str) -> bytes:
    """An Events API callback around `event`, as Slack posts it."""
    envelope = {
        "token": "verification-token",
        "team_id": TEAM,
        "api_app_id": "A0HELPDESK",
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [
            {"team_id": TEAM, "user_id": "UBOT", "is_bot": True, "is_enterprise_install": False}
        ],
        "is_ext_shared_channel": False,
    }
    return json.dumps(envelope).encode()


def thread_reply_event(
    user: str, text: str, thread_ts: str, ts: str, /, **extra: Any
) -> dict[str, Any]:
    """A message an agent wrote in a case's thread, as Slack delivers it."""
    event: dict[str, Any] = {
        "type": "message",
        "channel": CHANNEL,
        "user": user,
        "text": text,
        "ts": ts,
        "thread_ts": thread_ts,
        "parent_user_id": "UBOT",
        "event_ts": ts,
        "channel_type": "channel",
        "team": TEAM,
    }
    event.update(extra)
    return event


def signed_headers(body: bytes, content_type: str = "application/json") -> dict[str, str]:
    """The headers Slack sends with `body`, signed now."""
    ts = str(int(time.time()))  # Bolt checks the age against real time
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": slack_signature(ts, body),
    }


@dataclass
class Desk:
    client: TestClient[Any, Any]
    slack: FakeSlackApi
    line_api: FakeLineApi
    clock: ManualClock
    line: Line
    counter: int = 0
    event_ids: list[str] = field(default_factory=list)

    @property
    def services(self) -> Services:
        return self.client.app[SERVICES]

    # -- requests from Slack ---------------------------------------------------------

    async def send(
        self,
        body: bytes,
        content_type: str,
        *,
        signature: str | None = None,
        timestamp: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        ts = timestamp or str(int(self.clock().timestamp()))  # the app checks it by its clock
        all_headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature if signature is not None else slack_signature(ts, body),
            **(headers or {}),
        }
        return await self.client.post("/slack/events", data=body, headers=all_headers)

    def event_body(self, event: dict[str, Any], event_id: str | None = None) -> bytes:
        self.counter += 1
        return event_envelope(event, event_id or f"Ev{self.counter:08d}")

    async def event(self, event: dict[str, Any], event_id: str | None = None, **kwargs: Any) -> Any:
        return await self.send(self.event_body(event, event_id), "application/json", **kwargs)

    def reply_event(self, user: str, text: str, thread_ts: str, /, **extra: Any) -> dict[str, Any]:
        """A message an agent wrote in a case's thread, as Slack delivers it."""
        self.counter += 1
        return thread_reply_event(user, text, thread_ts, f"1790001000.{self.counter:06d}", **extra)

    async def reply(self, user: str, text: str, thread_ts: str, /, **extra: Any) -> Any:
        r = await self.event(self.reply_event(user, text, thread_ts, **extra))
        assert r.status == 200
        return r

    async def click(
        self, action_id: str, conversation_id: int, root_ts: str, user: str, channel: str = CHANNEL
    ) -> Any:
        payload = {
            "type": "block_actions",
            "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM},
            "api_app_id": "A0HELPDESK",
            "token": "verification-token",
            "container": {"type": "message", "message_ts": root_ts, "channel_id": channel,
                          "is_ephemeral": False},
            "trigger_id": "123.456.abc",
            "team": {"id": TEAM, "domain": "test"},
            "channel": {"id": channel, "name": "support"},
            "message": {"type": "message", "ts": root_ts, "user": "UBOT", "text": "case"},
            "response_url": "https://hooks.slack.com/actions/T1/1/abc",
            "actions": [
                {"action_id": action_id, "block_id": "helpdesk_actions", "type": "button",
                 "value": str(conversation_id), "action_ts": str(time.time()),
                 "text": {"type": "plain_text", "text": action_id}}
            ],
        }  # fmt: skip
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        return await self.send(body, "application/x-www-form-urlencoded")

    async def command(self, text: str, user: str = "UALICE", channel: str = CHANNEL) -> str:
        fields = {
            "token": "verification-token", "team_id": TEAM, "team_domain": "test",
            "channel_id": channel, "channel_name": "support", "user_id": user,
            "user_name": user.lower(), "command": "/helpdesk", "text": text,
            "api_app_id": "A0HELPDESK", "response_url": "https://hooks.slack.com/commands/1",
            "trigger_id": "123.456.def",
        }  # fmt: skip
        r = await self.send(
            urllib.parse.urlencode(fields).encode(), "application/x-www-form-urlencoded"
        )
        body = await r.text()
        assert r.status == 200, body
        return str(json.loads(body)["text"])

    # -- waiting for the background work --------------------------------------------

    async def settle(self) -> None:
        """Run the inbox, the customer outbox and the Slack outbox until nothing is due
        now, including work the app's own loops have already claimed."""
        services = self.services
        assert services.slack is not None
        async with asyncio.timeout(15):
            while True:
                busy = 0
                busy += await services.inbox.process_once()
                busy += await services.events.deliver_once()
                busy += await services.outbox.dispatch_once()
                busy += await services.slack.poster.dispatch_once()
                if not busy and not await self._in_flight():
                    return
                await asyncio.sleep(0.01)

    async def _in_flight(self) -> int:
        models = (
            (Outbox, "conversation_id"),
            (SlackPost, "conversation_id"),
            (InboundEvent, "sender"),
            (EventDelivery, "group_key"),
        )
        return await unsettled(self.services.sessions, models, self.clock())

    async def handoff(self, conversation_id: int) -> Handoff:
        async with self.services.sessions() as s:
            row = (
                await s.exec(select(Handoff).where(Handoff.conversation_id == conversation_id))
            ).one()
        return row

    def root_of(self, conversation_id: int) -> SlackCall:
        (root,) = [c for c in self.slack.roots() if f"Case #{conversation_id}:" in c.text]
        return root


async def make_desk(
    aiohttp_client: ClientMaker,
    aiohttp_server: ServerMaker,
    database: Database,
    faq_dir: Path,
    clock: ManualClock,
    **env: str,
) -> Desk:
    slack = FakeSlackApi(token=SLACK_TOKEN, channel_members={CHANNEL: [*AGENT_TEAM, "UBOT"]})
    slack_server = await aiohttp_server(slack.app())
    line_api = FakeLineApi(access_token=LINE_TOKEN)
    line_server = await aiohttp_server(line_api.app())
    settings = Settings.from_env(
        {
            **database.env,
            "HELPDESK_FAQ_DIR": str(faq_dir),
            "LINE_CHANNEL_SECRET": LINE_SECRET,
            "LINE_CHANNEL_ACCESS_TOKEN": LINE_TOKEN,
            "LINE_API_BASE_URL": f"http://127.0.0.1:{line_server.port}",
            # Generous: a call timing out on a loaded test machine would be retried only
            # after a backoff the manual clock never reaches.
            "LINE_REQUEST_TIMEOUT_SECONDS": "5",
            "SLACK_SIGNING_SECRET": SLACK_SECRET,
            "SLACK_BOT_TOKEN": SLACK_TOKEN,
            "SLACK_HANDOFF_CHANNEL": CHANNEL,
            "SLACK_API_BASE_URL": f"http://127.0.0.1:{slack_server.port}/api",
            "SLACK_REQUEST_TIMEOUT_SECONDS": "2",
            # The digest posts at start when its time has passed; tests that count Slack
            # posts must not see it unless they ask for it.
            "HELPDESK_DIGEST_TIME": "off",
            **env,
        }
    )
    client = await aiohttp_client(create_app(settings, clock=clock))
    return Desk(client, slack, line_api, clock, Line(client, line_api, clock))
