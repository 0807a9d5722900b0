"""Rate limits on the widget API (`/api/chat/*`): 429 with Retry-After past them.

Three token buckets, each checked before the request touches the database:

- per client address, for every widget API request, WebSocket handshakes included;
- per client address, for new chat sessions (each one writes a customer);
- per chat session, for what a session writes (its POSTs), keyed by a hash of its token
  so the limiter holds no working tokens. A made-up token gets its own bucket, then a
  401; rotating tokens runs into the per-address limit.

Webhooks (LINE, Slack) are not limited per address: the platforms send from a few
addresses on behalf of every customer and agent, they are authenticated by signature,
and a refused delivery is retried and then dropped, losing a message.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import hdrs, web
from aiohttp.typedefs import Middleware

from bot.client_address import client_address
from bot.clock import Clock
from bot.config import LimitSettings
from bot.header_values import HeaderNotAscii, bearer_token
from bot.ratelimit import RateLimiter
from channels.web.api import NEW_SESSION_PATH, WIDGET_API_PREFIX

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class _Limit:
    limiter: RateLimiter
    name: str  # in logs
    what: str  # in the 429's reason


def widget_throttle(limits: LimitSettings, clock: Clock, logger: logging.Logger) -> Middleware:
    """The three limits above; a rate of 0 turns that one off."""

    def limit(per_minute: int, name: str, what: str) -> _Limit | None:
        return _Limit(RateLimiter(per_minute, clock), name, what) if per_minute > 0 else None

    by_address = limit(limits.address_per_minute, "address", "requests from your address")
    new_sessions = limit(
        limits.new_sessions_per_minute, "new_sessions", "new chat sessions from your address"
    )
    by_session = limit(limits.session_per_minute, "session", "messages in this chat session")

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(WIDGET_API_PREFIX) or request.method == hdrs.METH_OPTIONS:
            return await handler(request)
        address = client_address(request, limits.trusted_proxies)
        checks: list[tuple[_Limit | None, str]] = [(by_address, address)]
        if request.method == hdrs.METH_POST:
            if request.path == NEW_SESSION_PATH:
                checks.append((new_sessions, address))
            else:
                token = _bearer(request)
                if token:
                    checks.append((by_session, hashlib.sha256(token).hexdigest()))
        for check, key in checks:
            if check is None:
                continue
            verdict = check.limiter.take(key)
            if verdict.allowed:
                continue
            if verdict.first_refusal:
                logger.info("rate limited", extra={"limit": check.name, "path": request.path})
            return web.json_response(
                {"error": f"too many {check.what}; try again in {verdict.retry_after} s"},
                status=429,
                headers={hdrs.RETRY_AFTER: str(verdict.retry_after)},
            )
        return await handler(request)

    return middleware


def _bearer(request: web.Request) -> bytes | None:
    try:
        return bearer_token(request)
    except HeaderNotAscii:
        return None  # no session's token: the API refuses it, before any write
