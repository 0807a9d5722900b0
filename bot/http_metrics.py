"""Request latency by route pattern and status class, as an aiohttp middleware."""

from __future__ import annotations

import time
from collections.abc import Callable

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from bot.metrics import Metrics

# The route label of requests no route matched (404, 405): one series, whatever the URL.
UNMATCHED = "unmatched"


def route_label(request: web.Request) -> str:
    """The matched route's pattern (`/api/chat/messages`, `/x/{id}`), never the raw path:
    scanners probing random URLs must not create a series each."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else UNMATCHED


def request_metrics_middleware(
    metrics: Metrics, timer: Callable[[], float] = time.perf_counter
) -> Middleware:
    """Observe each request's duration; put it first so it sees the final status,
    including the 500s and 503s that inner middlewares make of exceptions."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = timer()
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            metrics.request_done(
                request.method, route_label(request), exc.status, timer() - started
            )
            raise
        except Exception:
            metrics.request_done(request.method, route_label(request), 500, timer() - started)
            raise
        # A WebSocket's "latency" would be how long the customer kept the chat open.
        if not isinstance(response, web.WebSocketResponse):
            metrics.request_done(
                request.method, route_label(request), response.status, timer() - started
            )
        return response

    return middleware
