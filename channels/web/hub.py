"""Live delivery to web chat customers connected to this process over WebSocket."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any

from aiohttp import web


class LiveHub:
    """WebSockets by web session id; a message for a session goes to each of its sockets."""

    def __init__(self, logger: logging.Logger) -> None:
        self._sockets: dict[str, set[web.WebSocketResponse]] = defaultdict(set)
        self._log = logger

    def add(self, session_id: str, ws: web.WebSocketResponse) -> None:
        self._sockets[session_id].add(ws)

    def try_add(self, session_id: str, ws: web.WebSocketResponse, limit: int) -> bool:
        """Add the socket unless the session already has `limit` open; True when added."""
        if len(self._sockets.get(session_id, ())) >= limit:
            return False
        self.add(session_id, ws)
        return True

    def remove(self, session_id: str, ws: web.WebSocketResponse) -> None:
        sockets = self._sockets.get(session_id)
        if sockets is None:
            return
        sockets.discard(ws)
        if not sockets:
            del self._sockets[session_id]

    def connected(self, session_id: str) -> int:
        return len(self._sockets.get(session_id, ()))

    async def publish(self, session_id: str, payload: dict[str, Any]) -> int:
        """Send to every socket of the session; return how many took it."""
        sockets = list(self._sockets.get(session_id, ()))
        results = await asyncio.gather(
            *(ws.send_json(payload) for ws in sockets), return_exceptions=True
        )
        delivered = 0
        for ws, result in zip(sockets, results, strict=True):
            if isinstance(result, BaseException):
                self._log.info("dropping dead websocket", extra={"session": session_id})
                self.remove(session_id, ws)
            else:
                delivered += 1
        return delivered

    async def close_all(self) -> None:
        sockets = [ws for group in self._sockets.values() for ws in group]
        self._sockets.clear()
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
