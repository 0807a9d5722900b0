"""A fake Slack Web API: an aiohttp app on an ephemeral port.

It answers what the desk calls (`auth.test`, `chat.postMessage`, `chat.update`,
`chat.postEphemeral`, `users.info`) the way Slack does (always JSON with `ok`, bearer
token checked, `thread_ts` must name a posted message), records every accepted call, and
can be told to rate-limit, fail with a 5xx, refuse with an error code, or hang.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_USER = "UBOT"
BOT_ID = "BBOT"
TEAM = "T1"
# Methods that take the injected failures (posting and updating messages).
FAILING_METHODS = ("chat.postMessage", "chat.update")


@dataclass
class SlackCall:
    method: str
    args: dict[str, Any]
    ts: str | None = None  # the ts the fake gave a posted message

    @property
    def text(self) -> str:
        return str(self.args.get("text", ""))

    @property
    def blocks(self) -> list[dict[str, Any]]:
        blocks = self.args.get("blocks") or []
        return json.loads(blocks) if isinstance(blocks, str) else list(blocks)

    def all_text(self) -> str:
        """The fallback text and every text in the blocks, for assertions."""
        parts = [self.text]
        for block in self.blocks:
            if "text" in block:
                parts.append(str(block["text"].get("text", "")))
            parts += [str(f.get("text", "")) for f in block.get("fields", [])]
            parts += [str(e.get("text", "")) for e in block.get("elements", []) if "text" in e]
        return "\n".join(parts)


@dataclass
class FakeSlackApi:
    token: str
    calls: list[SlackCall] = field(default_factory=list)
    requests: int = 0  # posting/updating requests, accepted or not
    users: dict[str, str] = field(default_factory=dict)
    # Who is in what, for the agent checks: usergroups.users.list (group id -> member
    # ids) and conversations.members (channel id -> member ids, paged by `page_size`).
    # While `directory_down`, both answer 503.
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    channel_members: dict[str, list[str]] = field(default_factory=dict)
    page_size: int = 1000
    directory_down: bool = False
    # Each entry answers one upcoming post/update: ("status", code), ("ratelimited",
    # seconds), ("error", code) or ("hang", seconds).
    failures: list[tuple[str, Any]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    _ts: int = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/{method}", self._handle)
        app.router.add_get("/api/{method}", self._handle)
        return app

    def fail_next(self, count: int, how: str = "status", arg: Any = 500) -> None:
        self.failures.extend([(how, arg)] * count)

    # -- what tests look at --------------------------------------------------------

    def method(self, name: str) -> list[SlackCall]:
        return [c for c in self.calls if c.method == name]

    def roots(self) -> list[SlackCall]:
        return [c for c in self.method("chat.postMessage") if not c.args.get("thread_ts")]

    def thread(self, ts: str) -> list[SlackCall]:
        return [c for c in self.method("chat.postMessage") if c.args.get("thread_ts") == ts]

    def updates(self, ts: str) -> list[SlackCall]:
        return [c for c in self.method("chat.update") if c.args.get("ts") == ts]

    def ephemerals(self, user: str) -> list[SlackCall]:
        return [c for c in self.method("chat.postEphemeral") if c.args.get("user") == user]

    # -- the API -------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        args = await _arguments(request)
        if method == "auth.test":
            return web.json_response(
                {"ok": True, "user_id": BOT_USER, "bot_id": BOT_ID, "team_id": TEAM,
                 "team": "Test", "user": "helpdesk", "url": "https://test.slack.com/"}
            )  # fmt: skip
        if method in FAILING_METHODS:
            self.requests += 1
            refused = await self._inject()
            if refused is not None:
                return refused
        if method == "chat.postMessage":
            return self._post_message(args)
        if method == "chat.update":
            return self._update(args)
        if method == "chat.postEphemeral":
            self._record(SlackCall(method, args))
            return web.json_response({"ok": True, "message_ts": self._next_ts()})
        if method in ("usergroups.users.list", "conversations.members"):
            self._record(SlackCall(method, args))
            if self.directory_down:
                return web.Response(status=503, text="unavailable", content_type="text/html")
            return web.json_response(self._directory(method, args))
        if method == "users.info":
            user = str(args.get("user"))
            if user not in self.users:
                return web.json_response({"ok": False, "error": "user_not_found"})
            name = self.users[user]
            return web.json_response(
                {"ok": True, "user": {"id": user, "name": name, "real_name": name}}
            )
        return web.json_response({"ok": False, "error": "unknown_method"})

    async def _inject(self) -> web.Response | None:
        if not self.failures:
            return None
        how, arg = self.failures.pop(0)
        if how == "hang":
            await asyncio.sleep(arg)
            return None
        if how == "ratelimited":
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": str(arg)}
            )
        if how == "error":
            return web.json_response({"ok": False, "error": arg})
        return web.Response(status=int(arg), text="upstream failure", content_type="text/html")

    def _post_message(self, args: dict[str, Any]) -> web.Response:
        if not args.get("channel") or not (args.get("text") or args.get("blocks")):
            return web.json_response({"ok": False, "error": "no_text"})
        thread_ts = args.get("thread_ts")
        if thread_ts and thread_ts not in {c.ts for c in self.roots()}:
            return web.json_response({"ok": False, "error": "thread_not_found"})
        ts = self._next_ts()
        self._record(SlackCall("chat.postMessage", args, ts))
        return web.json_response({"ok": True, "channel": args["channel"], "ts": ts})

    def _update(self, args: dict[str, Any]) -> web.Response:
        if args.get("ts") not in {c.ts for c in self.roots()}:
            return web.json_response({"ok": False, "error": "message_not_found"})
        self._record(SlackCall("chat.update", args))
        return web.json_response({"ok": True, "channel": args["channel"], "ts": args["ts"]})

    def _directory(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "usergroups.users.list":
            group = str(args.get("usergroup"))
            if group not in self.usergroups:
                return {"ok": False, "error": "no_such_subteam"}
            return {"ok": True, "users": self.usergroups[group]}
        channel = str(args.get("channel"))
        if channel not in self.channel_members:
            return {"ok": False, "error": "channel_not_found"}
        members = self.channel_members[channel]
        start = int(args.get("cursor") or 0)
        page = members[start : start + self.page_size]
        rest = start + len(page)
        cursor = str(rest) if rest < len(members) else ""
        return {"ok": True, "members": page, "response_metadata": {"next_cursor": cursor}}

    def _next_ts(self) -> str:
        self._ts += 1
        return f"1790000000.{self._ts:06d}"

    def _record(self, call: SlackCall) -> None:
        self.calls.append(call)
        self.changed.set()


async def _arguments(request: web.Request) -> dict[str, Any]:
    # slack-sdk sends chat.* as JSON, auth.test as a form and the reading methods
    # (conversations.members, usergroups.users.list) as a GET's query.
    query = {k: str(v) for k, v in request.query.items()}
    if request.content_type == "application/json":
        data = await request.json()
        return {**query, **data} if isinstance(data, dict) else query
    return {**query, **{k: str(v) for k, v in (await request.post()).items()}}
