"""Admission control for the widget API: a saturated process says 503 at once instead of
queueing requests into seconds of latency.

At most `max_in_flight` widget API requests run at a time; one more waits for a slot for
at most `queue_seconds`, and is then answered 503 with Retry-After. By Little's law a
request in takes about `max_in_flight` / throughput to finish, so the limit is the
process's throughput times the latency it should keep (16 at some 80 messages a second
is 0.2 s on a small machine). So a customer either
gets an answer about as fast as the server can give one, or is told quickly to try
again (the widget shows it as "busy"), and the requests that are in do not slow down
for those that are not. The WebSocket handshake is not counted (a socket holds its
request for as long as it is open), nor are LINE and Slack webhooks: they are stored and
acknowledged at once and worked on by the inbox at its own pace, so refusing them would
only make the platforms retry.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import hdrs, web
from aiohttp.typedefs import Middleware

from channels.web.api import WIDGET_API_PREFIX, WS_PATH

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# What the 503 asks for: by then the requests in flight have long finished.
RETRY_AFTER_SECONDS = 1
LOG_EVERY_SECONDS = 10.0


def admission_control(
    max_in_flight: int, queue_seconds: float, logger: logging.Logger
) -> Middleware:
    """The limit above; `max_in_flight` 0 turns it off."""
    slots = asyncio.Semaphore(max_in_flight) if max_in_flight > 0 else None
    refused = 0  # since the last log line
    logged_at: float | None = None

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        nonlocal refused, logged_at
        if (
            slots is None
            or not request.path.startswith(WIDGET_API_PREFIX)
            or request.path == WS_PATH
            or request.method == hdrs.METH_OPTIONS
        ):
            return await handler(request)
        try:
            await asyncio.wait_for(slots.acquire(), timeout=queue_seconds)
        except TimeoutError:
            refused += 1
            now = time.monotonic()
            if logged_at is None or now - logged_at >= LOG_EVERY_SECONDS:
                # One line per spell of LOG_EVERY_SECONDS, not one per refused request.
                logger.warning(
                    "widget API saturated; refusing with 503",
                    extra={"max_in_flight": max_in_flight, "refused": refused},
                )
                refused, logged_at = 0, now
            return web.json_response(
                {"error": f"the server is busy; try again in {RETRY_AFTER_SECONDS} s"},
                status=503,
                headers={hdrs.RETRY_AFTER: str(RETRY_AFTER_SECONDS)},
            )
        try:
            return await handler(request)
        finally:
            slots.release()

    return middleware
