"""The web chat WebSocket opened as the widget opens it: a bare URL, then the token in
the first frame, then the server's {"type": "ready"}."""

from __future__ import annotations

import json

from aiohttp import ClientWebSocketResponse, WSMsgType

WS_PATH = "/api/chat/ws"


async def authenticated(ws: ClientWebSocketResponse, token: str) -> ClientWebSocketResponse:
    """`ws` once the server has taken its auth frame: pushes for the session reach it
    from then on."""
    await ws.send_json({"type": "auth", "token": token})
    frame = await ws.receive(timeout=5)
    assert frame.type == WSMsgType.TEXT, (frame.type, frame.data, frame.extra)
    assert json.loads(frame.data) == {"type": "ready"}, frame.data
    return ws
