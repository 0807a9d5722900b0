"""Who may act on cases from Slack: `/helpdesk`, the case buttons and thread replies.

A workspace holds far more people than the support team, and a public channel's buttons
can be clicked by anyone who opens it. So an action counts only in the handoff channel
and only from an agent: a member of the user group `HELPDESK_SLACK_AGENT_USERGROUP`
names, or without one, a member of the handoff channel (someone previewing a public
channel is not a member). Membership is read from Slack and cached briefly; when it
cannot be read at all, nothing is done (fail closed).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import Clock

# Long enough that a burst of clicks costs one lookup, short enough that someone taken
# out of the group loses access within a minute.
MEMBERS_FRESH_FOR = timedelta(seconds=60)
# When Slack cannot be asked, the last answer still counts for this long: an outage of
# Slack's API should not lock the team out of their own queue in the middle of a case.
MEMBERS_USABLE_FOR = timedelta(minutes=15)
MAX_MEMBER_PAGES = 50
# A slash command must be acknowledged within 3 s, and the lookup comes first.
LOOKUP_SECONDS = 2.0


def wrong_channel(handoff_channel: str) -> str:
    return f"`/helpdesk` and the case buttons work in <#{handoff_channel}> only."


def not_an_agent(handoff_channel: str, usergroup: str | None) -> str:
    if usergroup is None:
        return (
            f"Only members of <#{handoff_channel}> can act on support cases. "
            "Join the channel first."
        )
    return (
        f"Only members of <!subteam^{usergroup}> can act on support cases. "
        "Ask an admin to add you to the group."
    )


AGENTS_UNKNOWN = (
    "The list of support agents could not be read from Slack just now, so nothing was "
    "done. Please try again in a minute."
)


@dataclass
class _Members:
    users: frozenset[str]
    read_at: datetime


@dataclass
class AgentAccess:
    client: AsyncWebClient
    handoff_channel: str
    usergroup: str | None
    clock: Clock
    logger: logging.Logger
    _members: _Members | None = field(default=None, init=False)

    async def refusal(self, user: str, channel: str) -> str | None:
        """None when `user` may act in `channel`; otherwise the reason to show them."""
        if channel != self.handoff_channel:
            return wrong_channel(self.handoff_channel)
        return await self.agent_refusal(user)

    async def agent_refusal(self, user: str) -> str | None:
        """None when `user` is an agent; otherwise the reason to show them (a thread
        reply, which reaches us only from a case's own thread, needs only this)."""
        members = await self._current_members()
        if members is None:
            return AGENTS_UNKNOWN
        return None if user in members else not_an_agent(self.handoff_channel, self.usergroup)

    async def _current_members(self) -> frozenset[str] | None:
        now = self.clock()
        known = self._members
        if known is not None and now - known.read_at < MEMBERS_FRESH_FOR:
            return known.users
        try:
            async with asyncio.timeout(LOOKUP_SECONDS):
                users = await self._read_members()
        except (SlackApiError, TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
            # missing_scope here means the app lacks usergroups:read (with a group) or
            # channels:read / groups:read (without): README "Slack agent desk".
            self.logger.warning(
                "slack agents not read", extra={"error": repr(exc)[:300]}
            )
            if known is not None and now - known.read_at < MEMBERS_USABLE_FOR:
                return known.users
            return None
        self._members = _Members(users, now)
        return users

    async def _read_members(self) -> frozenset[str]:
        if self.usergroup is not None:
            answer = await self.client.usergroups_users_list(usergroup=self.usergroup)
            return frozenset(_users_of(answer.get("users"), "usergroups.users.list"))
        users: set[str] = set()
        cursor: str | None = None
        # A channel's members come a page at a time; a support channel is a few pages
        # at most, and the bound keeps a misbehaving cursor from looping forever.
        for _ in range(MAX_MEMBER_PAGES):
            answer = await self.client.conversations_members(
                channel=self.handoff_channel, limit=1000, cursor=cursor
            )
            users.update(_users_of(answer.get("members"), "conversations.members"))
            metadata = answer.get("response_metadata")
            cursor = metadata.get("next_cursor") if isinstance(metadata, dict) else None
            if not cursor:
                return frozenset(users)
        raise ValueError("conversations.members paged past the bound")


def _users_of(value: object, method: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(u, str) for u in value):
        raise ValueError(f"{method} answered without a list of user ids")
    return value
