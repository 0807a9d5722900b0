"""Live delivery across replicas: a message for a web chat customer reaches the replica
that holds the customer's WebSocket, whichever replica sent it.

On SQLite (one process) the relay hands messages straight to the local hub. On PostgreSQL
every replica LISTENs on one channel and the sender NOTIFYs it; each replica then pushes
to the sockets it holds. A notification is only a nudge: the message is already in the
customer's history, and the widget fetches what it missed whenever its socket
(re)connects. So when a replica's LISTEN connection is lost, it closes its sockets once
it is listening again, and the widgets reconnect and catch up.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Sequence
from typing import Any, Protocol

import asyncpg
from sqlalchemy.engine import make_url
from sqlmodel import func, select

from bot.db import SessionFactory
from bot.messages import Outbound
from bot.models import Message
from bot.store import to_outbound
from channels.web.hub import LiveHub
from channels.web.serialize import message_json

# PostgreSQL refuses a NOTIFY payload of 8000 bytes or more; a longer message goes as its
# id and the listening replica reads it from the database.
MAX_PAYLOAD_BYTES = 7000
# How often the listener checks that its connection is alive, and waits to reconnect.
CHECK_SECONDS = 2.0
RECONNECT_SECONDS = 1.0


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


def notify_channel(schema: str | None) -> str:
    """One channel per schema: replicas sharing a database but not a schema (tests, or
    two installations) must not hear each other."""
    name = f"helpdesk_live_{schema or 'public'}"
    if len(name) > 63:  # PostgreSQL identifiers are cut at 63 bytes
        name = "helpdesk_live_" + hashlib.sha256(name.encode()).hexdigest()[:40]
    return name


def listener_dsn(database_url: str) -> str:
    """The asyncpg DSN of a `postgresql+asyncpg://` SQLAlchemy URL."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class PostgresRelay:
    """NOTIFY to publish; a dedicated connection LISTENs and feeds the local hub."""

    def __init__(
        self,
        dsn: str,
        channel: str,
        sessions: SessionFactory,
        hub: LiveHub,
        logger: logging.Logger,
    ) -> None:
        self._dsn = dsn
        self._channel = channel
        self._sessions = sessions
        self._hub = hub
        self._log = logger
        # Notifications are handled one at a time, so a customer's messages keep their order.
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._listening = asyncio.Event()
        self._stopping = asyncio.Event()

    async def publish(self, session_id: str, messages: Sequence[Outbound]) -> None:
        async with self._sessions() as session, session.begin():
            for message in messages:
                payload = _notification(session_id, message)
                await session.exec(select(func.pg_notify(self._channel, payload)))

    async def wait_listening(self) -> None:
        """Return once LISTEN is in place (at start-up)."""
        await self._listening.wait()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Listen until `stop()`, reconnecting after a lost connection."""
        deliver = asyncio.create_task(self._deliver_forever(), name="live relay delivery")
        lost_before = False
        try:
            while not self._stopping.is_set():
                try:
                    await self._listen_once(reconnected=lost_before)
                except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
                    self._log.warning("live relay cannot listen; will retry",
                                      extra={"error": type(exc).__name__})  # fmt: skip
                lost_before = True
                self._listening.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), RECONNECT_SECONDS)
        finally:
            deliver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await deliver

    async def _listen_once(self, reconnected: bool) -> None:
        connection = await asyncio.wait_for(asyncpg.connect(self._dsn), timeout=10)
        try:
            await connection.add_listener(self._channel, self._on_notification)
            if reconnected:
                # Whatever was published while we were deaf never reached our sockets:
                # closing them makes each widget reconnect and fetch what it missed.
                self._log.info("live relay listening again; asking clients to catch up")
                await self._hub.close_all()
            self._listening.set()
            while not self._stopping.is_set() and not connection.is_closed():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), CHECK_SECONDS)
                if not self._stopping.is_set() and not connection.is_closed():
                    # A connection the server dropped silently shows up here.
                    await asyncio.wait_for(connection.execute("SELECT 1"), timeout=CHECK_SECONDS)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), timeout=CHECK_SECONDS)

    def _on_notification(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        self._queue.put_nowait(payload)

    async def _deliver_forever(self) -> None:
        while True:
            payload = await self._queue.get()
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
