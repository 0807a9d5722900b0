"""A replica's one LISTEN connection to PostgreSQL, shared by whatever needs to hear the
other replicas: the web chat's live relay and the work loops' wake-ups.

A notification is only ever a nudge, never the data: what it announces is in a table
already. So while the connection is lost nothing is lost with it; when it is back, every
listener's `on_reconnected` runs, to catch up on whatever it may have missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

# How often the listener checks that its connection is alive, and waits to reconnect. A
# connection the server closes is noticed at once (asyncpg's termination callback); the
# check is for one that a network fault dropped silently.
CHECK_SECONDS = 10.0
RECONNECT_SECONDS = 1.0
CONNECT_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Channel:
    name: str
    on_payload: Callable[[str], None]
    on_reconnected: Callable[[], Awaitable[None]] | None
    # Our own NOTIFYs come back to us too; a wake-up for work we queued ourselves is noise.
    others_only: bool


def channel_name(purpose: str, schema: str | None) -> str:
    """One channel per purpose and schema: replicas sharing a database but not a schema
    (tests, or two installations) must not hear each other."""
    name = f"helpdesk_{purpose}_{schema or 'public'}"
    if len(name) > 63:  # PostgreSQL identifiers are cut at 63 bytes
        name = f"helpdesk_{purpose}_" + hashlib.sha256(name.encode()).hexdigest()[:40]
    return name


def listener_dsn(database_url: str) -> str:
    """The asyncpg DSN of a `postgresql+asyncpg://` SQLAlchemy URL."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class PgListener:
    """LISTENs on the channels registered with `listen()` (before `run()`), reconnecting
    after a lost connection; `notify()` sends on the same connection."""

    def __init__(self, dsn: str, logger: logging.Logger) -> None:
        self._dsn = dsn
        self._log = logger
        self._channels: dict[str, Channel] = {}
        self._connection: asyncpg.Connection | None = None
        self._listening = asyncio.Event()
        self._stopping = asyncio.Event()
        self._lost = asyncio.Event()
        # asyncpg runs one operation at a time on a connection: a NOTIFY and a liveness
        # check must take turns, or one fails with "another operation is in progress".
        self._turn = asyncio.Lock()
        # Statements sent on this connection (liveness checks, NOTIFYs), for bench.idle.
        self.statements = 0

    def listen(
        self,
        channel: str,
        on_payload: Callable[[str], None],
        *,
        on_reconnected: Callable[[], Awaitable[None]] | None = None,
        others_only: bool = False,
    ) -> None:
        self._channels[channel] = Channel(channel, on_payload, on_reconnected, others_only)

    async def wait_listening(self) -> None:
        """Return once LISTEN is in place (at start-up)."""
        await self._listening.wait()

    @property
    def listening(self) -> bool:
        return self._listening.is_set()

    async def notify(self, channel: str, payload: str) -> None:
        """NOTIFY `channel` now, outside any transaction; raises when not connected."""
        connection = self._connection
        if connection is None or connection.is_closed():
            raise ConnectionError("the listener is not connected")
        async with self._turn:
            self.statements += 1
            await connection.execute("SELECT pg_notify($1, $2)", channel, payload)

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Listen until `stop()`, reconnecting after a lost connection."""
        lost_before = False
        while not self._stopping.is_set():
            try:
                await self._listen_once(reconnected=lost_before)
            except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
                self._log.warning("database listener cannot listen; will retry",
                                  extra={"error": type(exc).__name__})  # fmt: skip
            lost_before = True
            self._listening.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), RECONNECT_SECONDS)

    async def _listen_once(self, reconnected: bool) -> None:
        connection = await asyncio.wait_for(
            asyncpg.connect(self._dsn), timeout=CONNECT_TIMEOUT_SECONDS
        )
        self._lost.clear()
        connection.add_termination_listener(lambda _connection: self._lost.set())
        try:
            own_pid = connection.get_server_pid()
            for channel in self._channels.values():
                await connection.add_listener(channel.name, self._receiver(channel, own_pid))
            self._connection = connection
            if reconnected:
                self._log.info("database listener listening again; catching up")
                for channel in self._channels.values():
                    if channel.on_reconnected is not None:
                        await channel.on_reconnected()
            self._listening.set()
            while not self._stopping.is_set() and not connection.is_closed():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopped_or_lost(), CHECK_SECONDS)
                if not self._stopping.is_set() and not connection.is_closed():
                    async with self._turn:
                        self.statements += 1
                        check = connection.execute("SELECT 1")
                        await asyncio.wait_for(check, timeout=CHECK_SECONDS)
        finally:
            self._connection = None
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), timeout=CHECK_SECONDS)

    async def _stopped_or_lost(self) -> None:
        stopping = asyncio.ensure_future(self._stopping.wait())
        lost = asyncio.ensure_future(self._lost.wait())
        try:
            await asyncio.wait({stopping, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            lost.cancel()

    @staticmethod
    def _receiver(channel: Channel, own_pid: int) -> Callable[[Any, int, str, str], None]:
        def receive(_connection: Any, pid: int, _name: str, payload: str) -> None:
            if channel.others_only and pid == own_pid:
                return
            channel.on_payload(payload)

        return receive
