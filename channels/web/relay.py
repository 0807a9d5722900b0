"""Live delivery across replicas: a message for a web chat customer reaches the replica
that holds the customer's WebSocket, whichever replica sent it.

On SQLite (one process) the relay hands messages straight to the local hub. On PostgreSQL
every replica LISTENs on one channel (bot.pg_listener) and the sender NOTIFYs it; each
replica then pushes to the sockets it holds. A notification is only a nudge: the message
is already in the customer's history, and the widget fetches what it missed whenever its
socket (re)connects. So when a replica's LISTEN connection is lost, it closes its sockets
once it is listening again, and the widgets reconnect and catch up.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from typing import Any, Protocol

from sqlmodel import func, select

from bot.db import SessionFactory
from bot.messages import Outbound
from bot.models import Message
from bot.pg_listener import PgListener
from bot.store import to_outbound
from channels.web.hub import LiveHub
from channels.web.serialize import message_json

# PostgreSQL refuses a NOTIFY payload of 8000 bytes or more; a longer message goes as its
# id and the listening replica reads it from the database.
MAX_PAYLOAD_BYTES = 7000


class LiveRelay(Protocol):
    async def publish(self, session_id: str, messages: Sequence[Outbound]) -> None: ...


class LocalRelay:
    """One process: the sockets are all here."""

    def __init__(self, hub: LiveHub) -> None:
        self._hub = hub

    async def publish(self, session_id: str, messages: Sequence[Outbound]) -> None:
        for message in messages:
            await self._hub.publish(session_id, live_payload(message_json(message)))


def live_payload(message: dict[str, Any]) -> dict[str, Any]:
    return {"type": "message", "message": message}


class PostgresRelay:
    """NOTIFY to publish; the replica's listener (bot.pg_listener) feeds the local hub."""

    def __init__(
        self,
        listener: PgListener,
        channel: str,
        sessions: SessionFactory,
        hub: LiveHub,
        logger: logging.Logger,
    ) -> None:
        self._channel = channel
        self._sessions = sessions
        self._hub = hub
        self._log = logger
        # Notifications are handled one at a time, so a customer's messages keep their order.
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        listener.listen(channel, self._queue.put_nowait, on_reconnected=self._catch_up)

    async def publish(self, session_id: str, messages: Sequence[Outbound]) -> None:
        async with self._sessions() as session, session.begin():
            for message in messages:
                payload = _notification(session_id, message)
                await session.exec(select(func.pg_notify(self._channel, payload)))

    async def _catch_up(self) -> None:
        # Whatever was published while we were deaf never reached our sockets: closing
        # them makes each widget reconnect and fetch what it missed.
        await self._hub.close_all()

    def stop(self) -> None:
        self._queue.put_nowait(None)

    async def run(self) -> None:
        """Push each notification to the local sockets until `stop()`."""
        while (payload := await self._queue.get()) is not None:
            try:
                await self._deliver(payload)
            except Exception:
                self._log.exception("live relay could not deliver a notification")

    async def _deliver(self, payload: str) -> None:
        note = json.loads(payload)
        session_id = str(note["s"])
        if not self._hub.connected(session_id):
            return  # the customer's socket is on another replica, or closed
        message = note.get("m")
        if message is None:
            async with self._sessions() as session:
                row = await session.get(Message, int(note["id"]))
            if row is None:
                return
            message = message_json(to_outbound(row))
        await self._hub.publish(session_id, live_payload(message))


def _notification(session_id: str, message: Outbound) -> str:
    full = json.dumps({"s": session_id, "m": message_json(message)}, ensure_ascii=False)
    if len(full.encode()) <= MAX_PAYLOAD_BYTES:
        return full
    return json.dumps({"s": session_id, "id": message.message_id})
