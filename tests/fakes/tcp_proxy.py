"""A TCP proxy on an ephemeral loopback port that a test can cut and restore.

It stands between the app and the shared PostgreSQL server, so a test can take "the
database" away from one app without touching the server other tests use. While cut,
every open connection is closed and new ones are reset as soon as they arrive (the
listening port is kept, so nothing else can take it before `restore`).

`cut_at(marker, after=...)` cuts the moment a connection that has already sent `after`
sends `marker` (for instance a COMMIT after a value the transaction wrote): that data
never reaches the server, so a transaction is lost between its last write and its
commit. Match on values, not SQL: asyncpg sends a statement's text once per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from dataclasses import dataclass, field

# How much of what a client sent is kept to find markers split across reads.
WINDOW = 64 * 1024


@dataclass
class _Trigger:
    marker: bytes
    after: bytes | None
    fired: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(eq=False)
class _Link:
    client: asyncio.StreamWriter
    server: asyncio.StreamWriter
    sent: bytearray = field(default_factory=bytearray)


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._links: set[_Link] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._trigger: _Trigger | None = None
        self.is_cut = False
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def cut(self) -> None:
        """Close every proxied connection and reset new ones until `restore`."""
        self.is_cut = True
        for link in list(self._links):
            _close(link.client, reset=True)
            _close(link.server, reset=False)
        self._links.clear()

    def restore(self) -> None:
        self.is_cut = False

    def cut_at(self, marker: bytes, after: bytes | None = None) -> asyncio.Event:
        """Cut when a connection sends `marker` having sent `after` since the trigger was
        set and since its own last `marker` (so: in the same transaction, for a COMMIT);
        the data holding the marker is dropped. The event is set when it happened."""
        for link in self._links:
            link.sent.clear()
        self._trigger = _Trigger(marker, after)
        return self._trigger.fired

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.is_cut:
            _close(writer, reset=True)
            return
        try:
            server_reader, server_writer = await asyncio.open_connection(*self._target)
        except OSError:
            _close(writer, reset=True)
            return
        link = _Link(writer, server_writer)
        self._links.add(link)
        upstream = asyncio.create_task(self._pipe(reader, link, upstream=True))
        downstream = asyncio.create_task(self._pipe(server_reader, link, upstream=False))
        for task in (upstream, downstream):
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(self, reader: asyncio.StreamReader, link: _Link, *, upstream: bool) -> None:
        target = link.server if upstream else link.client
        try:
            while data := await reader.read(65536):
                if upstream and self._fires(link, data):
                    self.cut()
                    return
                target.write(data)
                await target.drain()
        except (OSError, RuntimeError):
            pass  # the other side went away, or the link was cut under us
        finally:
            if link in self._links:
                self._links.discard(link)
                _close(link.client, reset=False)
                _close(link.server, reset=False)

    def _fires(self, link: _Link, data: bytes) -> bool:
        trigger = self._trigger
        if trigger is None:
            return False
        link.sent.extend(data)
        del link.sent[:-WINDOW]
        while (at := link.sent.find(trigger.marker)) >= 0:
            if trigger.after is None or trigger.after in link.sent[:at]:
                self._trigger = None
                trigger.fired.set()
                return True
            # A marker on its own (another transaction's COMMIT): look afresh after it.
            del link.sent[: at + len(trigger.marker)]
        return False


def _close(writer: asyncio.StreamWriter, *, reset: bool) -> None:
    if reset:
        # SO_LINGER 0 sends a RST: the peer sees a dead connection at once, as it would
        # when the database host goes away, rather than a polite end of stream.
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()
