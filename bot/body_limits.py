"""Request body limits on every endpoint, answered with a JSON 413.

One app-wide `client_max_size` does not fit every route: the web chat API needs little,
while LINE and Slack batch events and quote long messages, and a webhook refused for its
size is a customer's or an agent's message lost after the platform's retries. So each
request gets its own limit by path, and a declared `Content-Length` over it is refused
before a byte of the body is read. A chunked body has no length up front; reading it
stops at the same limit (aiohttp raises, and that becomes the same 413).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web
from aiohttp.typedefs import Middleware

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def too_large(limit: int) -> web.Response:
    return web.json_response(
        {"error": f"request body is too large (the limit is {limit} bytes)"}, status=413
    )


def body_limits(default: int, by_path_prefix: Mapping[str, int]) -> Middleware:
    """Limit bodies to `default` bytes, or to the limit of the first matching prefix.

    The app's own `client_max_size` must be at least the largest of these, since a
    request can only be narrowed here, never widened."""
    prefixes = tuple(by_path_prefix.items())

    def limit_for(path: str) -> int:
        for prefix, limit in prefixes:
            if path.startswith(prefix):
                return limit
        return default

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        limit = limit_for(request.path)
        declared = request.content_length
        if declared is not None and declared > limit:
            return too_large(limit)
        if request.client_max_size != limit:
            request = request.clone(client_max_size=limit)
        try:
            return await handler(request)
        except web.HTTPRequestEntityTooLarge:
            return too_large(limit)

    return middleware
