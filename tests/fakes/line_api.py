"""A fake LINE Messaging API: an aiohttp app on an ephemeral port.

It checks what LINE checks (bearer token, 1-5 messages, 5,000-character texts, at most
13 quick replies with labels of at most 20 characters, single-use reply tokens, push
retry keys), records every accepted call, and can be told to fail, rate-limit or hang.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Call:
    kind: str  # "reply" | "push"
    to: str | None
    messages: list[dict[str, Any]]
    retry_key: str | None = None

    @property
    def texts(self) -> list[str]:
        return [m["text"] for m in self.messages]


@dataclass
class FakeLineApi:
    access_token: str
    calls: list[Call] = field(default_factory=list)
    requests: int = 0  # message calls (reply and push), accepted or not
    profiles: dict[str, str] = field(default_factory=dict)
    valid_reply_tokens: set[str] = field(default_factory=set)
    accepted_retry_keys: set[str] = field(default_factory=set)
    # Each entry answers one upcoming request: (status, headers) or ("hang", seconds).
    failures: list[tuple[Any, Any]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    # Seconds every message call takes before it is answered.
    delay: float = 0.0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v2/bot/message/reply", self._reply)
        app.router.add_post("/v2/bot/message/push", self._push)
        app.router.add_get("/v2/bot/profile/{user_id}", self._profile)
        return app

    def fail_next(self, count: int, status: int = 500, retry_after: int | None = None) -> None:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        self.failures.extend([(status, headers)] * count)

    def hang_next(self, count: int, seconds: float) -> None:
        self.failures.extend([("hang", seconds)] * count)

    def replies(self) -> list[Call]:
        return [c for c in self.calls if c.kind == "reply"]

    def pushes(self) -> list[Call]:
        return [c for c in self.calls if c.kind == "push"]

    def all_texts(self) -> list[str]:
        return [t for c in self.calls for t in c.texts]

    async def wait_for_calls(self, count: int) -> list[Call]:
        """Wait until at least `count` calls were accepted (callers bound the wait)."""
        while len(self.calls) < count:
            self.changed.clear()
            await self.changed.wait()
        return self.calls

    async def _gate(self, request: web.Request, inject: bool = True) -> web.Response | None:
        """Authentication, and the injected failures (which only message calls take)."""
        if request.headers.get("Authorization") != f"Bearer {self.access_token}":
            return web.json_response({"message": "Authentication failed"}, status=401)
        if not inject:
            return None
        self.requests += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.failures:
            what, arg = self.failures.pop(0)
            if what == "hang":
                await asyncio.sleep(arg)
            else:
                return web.json_response({"message": "failure"}, status=what, headers=arg)
        return None

    def _check_messages(self, messages: Any) -> str | None:
        if not isinstance(messages, list) or not 1 <= len(messages) <= 5:
            return "messages must have 1 to 5 items"
        for m in messages:
            if m.get("type") != "text" or not 1 <= len(m.get("text", "")) <= 5000:
                return "text must be 1 to 5000 characters"
            items = (m.get("quickReply") or {}).get("items", [])
            if len(items) > 13:
                return "quickReply.items must have at most 13 items"
            for item in items:
                if len(item["action"]["label"]) > 20:
                    return "action.label must be at most 20 characters"
        return None

    async def _reply(self, request: web.Request) -> web.Response:
        refused = await self._gate(request)
        if refused is not None:
            return refused
        body = await request.json()
        problem = self._check_messages(body.get("messages"))
        if problem:
            return web.json_response({"message": problem}, status=400)
        token = body.get("replyToken")
        if token not in self.valid_reply_tokens:
            return web.json_response({"message": "Invalid reply token"}, status=400)
        self.valid_reply_tokens.discard(token)  # single use
        self._record(Call("reply", None, body["messages"]))
        return web.json_response({"sentMessages": [{"id": "1"}]})

    async def _push(self, request: web.Request) -> web.Response:
        refused = await self._gate(request)
        if refused is not None:
            return refused
        body = await request.json()
        problem = self._check_messages(body.get("messages"))
        if problem:
            return web.json_response({"message": problem}, status=400)
        key = request.headers.get("X-Line-Retry-Key")
        if key is not None and key in self.accepted_retry_keys:
            return web.json_response(
                {"message": "The retry key is already accepted", "sentMessages": []}, status=409
            )
        if key is not None:
            self.accepted_retry_keys.add(key)
        self._record(Call("push", body.get("to"), body["messages"], key))
        return web.json_response({"sentMessages": [{"id": "1"}]})

    async def _profile(self, request: web.Request) -> web.Response:
        refused = await self._gate(request, inject=False)
        if refused is not None:
            return refused
        user_id = request.match_info["user_id"]
        if user_id not in self.profiles:
            return web.json_response({"message": "Not found"}, status=404)
        return web.json_response({"displayName": self.profiles[user_id], "userId": user_id})

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        self.changed.set()
