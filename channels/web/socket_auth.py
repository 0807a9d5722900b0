"""The chat WebSocket's handshake: the token comes in the first frame, not in the URL.

URLs end up in proxy and access logs, and browsers cannot set headers on a WebSocket, so
the widget opens `/api/chat/ws` bare and sends `{"type": "auth", "token": TOKEN}` first.
Until that frame arrives (within HELPDESK_WEBSOCKET_AUTH_SECONDS) the socket receives
nothing; a missing, late, malformed or refused one closes it with a code in the range
RFC 6455 leaves to applications and a reason that names the refusal, the same word a
401's "code" uses. The server confirms a good one with `{"type": "ready"}`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import IntEnum

from aiohttp import WSMsgType, web

from channels.web.sessions import Refusal, WebSession

AUTH_TYPE = "auth"
READY = {"type": "ready"}


class CloseCode(IntEnum):
    """4000 + the HTTP status that would say the same."""

    AUTH_REQUIRED = 4400  # the first frame was not an auth frame
    UNAUTHORIZED = 4401  # the token is refused; the reason says why (Refusal)
    AUTH_TIMEOUT = 4408  # no first frame in time


@dataclass(frozen=True)
class SocketRefusal:
    code: CloseCode
    reason: str


NOT_AN_AUTH_FRAME = SocketRefusal(CloseCode.AUTH_REQUIRED, "auth_required")
TOO_LATE = SocketRefusal(CloseCode.AUTH_TIMEOUT, "auth_timeout")

Authenticate = Callable[[str], Awaitable[WebSession | Refusal]]


async def authenticate_socket(
    ws: web.WebSocketResponse, deadline_seconds: float, authenticate: Authenticate
) -> WebSession | SocketRefusal | None:
    """The session the socket's first frame authenticates, or the refusal it was closed
    with; None when the client went away (or broke the protocol) first."""
    try:
        # One deadline for the whole wait: pings answered meanwhile do not extend it.
        async with asyncio.timeout(deadline_seconds):
            message = await ws.receive()
    except TimeoutError:
        return await _refuse(ws, TOO_LATE)
    if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
        return None  # aiohttp has closed it already (1009 when too big, 1007 not UTF-8)
    token = _auth_token(message.data) if message.type == WSMsgType.TEXT else None
    if token is None:
        return await _refuse(ws, NOT_AN_AUTH_FRAME)
    found = await authenticate(token)
    if isinstance(found, Refusal):
        return await _refuse(ws, SocketRefusal(CloseCode.UNAUTHORIZED, found.value))
    return found


def _auth_token(data: str) -> str | None:
    try:
        frame = json.loads(data)
    except (ValueError, RecursionError):
        return None
    if not isinstance(frame, dict) or frame.get("type") != AUTH_TYPE:
        return None
    token = frame.get("token")
    return token if isinstance(token, str) else None


async def _refuse(ws: web.WebSocketResponse, refusal: SocketRefusal) -> SocketRefusal:
    await ws.close(code=refusal.code, message=refusal.reason.encode())
    return refusal
