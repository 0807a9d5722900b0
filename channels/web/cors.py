"""CORS for the widget API (`/api/chat/*`), and for nothing else.

The widget runs on the customer's site and calls this server from there, so its API
answers the origins an operator lists (HELPDESK_CORS_ORIGINS), exactly, and no others.
The admin and report APIs never carry CORS headers: browsers keep other sites' pages
from reading them even with a token in hand.

No `Access-Control-Allow-Credentials`: the widget sends its token in a header, never a
cookie, so a page from another origin has no ambient credential to ride on. That is also
why a request from an origin not on the list is answered (minus the CORS headers that
would let the page read the answer) rather than refused.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, MutableMapping

from aiohttp import hdrs, web
from aiohttp.typedefs import Middleware

from bot.header_values import HeaderNotAscii, ascii_header
from channels.web.api import WIDGET_API_PREFIX

ALLOWED_METHODS = "GET, POST"
ALLOWED_HEADERS = ("authorization", "content-type", "accept")
# Browsers cap this themselves (Chromium at 2 hours); 10 minutes keeps a changed list
# effective soon.
PREFLIGHT_MAX_AGE = "600"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def widget_cors(origins: Collection[str]) -> Middleware:
    """Answer preflights and add CORS headers on `/api/chat/*` for exactly `origins`
    (each like "https://www.example.com"); with none, the widget API is same-origin only."""
    allowed = frozenset(origins)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(WIDGET_API_PREFIX):
            return await handler(request)
        origin = request.headers.get(hdrs.ORIGIN)
        permitted = origin is not None and origin in allowed
        if request.method == hdrs.METH_OPTIONS and origin is not None:
            return _preflight(request, origin if permitted else None)
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            # Errors too: the widget must be able to read why (401, 413, 429).
            _decorate(exc.headers, origin if permitted else None)
            raise
        if not response.prepared:  # a WebSocket has sent its headers already
            _decorate(response.headers, origin if permitted else None)
        return response

    return middleware


def _preflight(request: web.Request, origin: str | None) -> web.Response:
    if origin is None:
        response = web.json_response({"error": "this origin may not use the chat API"}, status=403)
        _add_vary(response.headers)
        return response
    try:
        asked = ascii_header(request, hdrs.ACCESS_CONTROL_REQUEST_HEADERS)
    except HeaderNotAscii as exc:
        # Refused with the reason, not echoed: the bytes need not even be UTF-8.
        response = web.json_response({"error": str(exc)}, status=403)
        _add_vary(response.headers)
        return response
    headers = [h.strip().lower() for h in asked.split(",") if h.strip()]
    refused = [h for h in headers if h not in ALLOWED_HEADERS]
    if refused:
        response = web.json_response(
            {"error": f"header not allowed: {', '.join(refused)}"}, status=403
        )
        _add_vary(response.headers)
        return response
    response = web.Response(status=204)
    _decorate(response.headers, origin)
    response.headers[hdrs.ACCESS_CONTROL_ALLOW_METHODS] = ALLOWED_METHODS
    response.headers[hdrs.ACCESS_CONTROL_ALLOW_HEADERS] = ", ".join(ALLOWED_HEADERS)
    response.headers[hdrs.ACCESS_CONTROL_MAX_AGE] = PREFLIGHT_MAX_AGE
    return response


def _decorate(headers: MutableMapping[str, str], origin: str | None) -> None:
    # Vary even when refused: a cache must not hand one origin's answer to another.
    _add_vary(headers)
    if origin is not None:
        headers[hdrs.ACCESS_CONTROL_ALLOW_ORIGIN] = origin
        # Lets the widget read how long to wait after a 429.
        headers[hdrs.ACCESS_CONTROL_EXPOSE_HEADERS] = hdrs.RETRY_AFTER


def _add_vary(headers: MutableMapping[str, str]) -> None:
    existing = headers.get(hdrs.VARY, "")
    present = {v.strip().lower() for v in existing.split(",")}
    if "origin" not in present and "*" not in present:
        headers[hdrs.VARY] = f"{existing}, Origin" if existing.strip() else "Origin"
