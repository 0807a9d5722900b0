"""Waking the other replicas' work loops when this one queues rows (PostgreSQL).

The replica that queues a row works on it itself (its loop's `notify`). The others need
to hear because a row can wait behind one of theirs: only the oldest open row of a group
(a conversation, a sender) is claimable, so when that head is another replica's, that
replica must look again once it is done with it. Without this it would find the row at
its safety poll, seconds later.

NOTIFYs go on the listener's own connection, outside the turn's transaction (a turn
costs no statement for them), and are coalesced: at most one per `WINDOW_SECONDS` per
replica, naming every loop with new work since the last.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.claims import WorkLoop
from bot.pg_listener import PgListener

WINDOW_SECONDS = 0.05


class Wakeups:
    def __init__(self, listener: PgListener, channel: str, logger: logging.Logger) -> None:
        self._listener = listener
        self._channel = channel
        self._log = logger
        self._loops: dict[str, WorkLoop] = {}
        self._pending: set[str] = set()
        self._sender: asyncio.Task[None] | None = None
        listener.listen(channel, self._heard, on_reconnected=self._wake_all, others_only=True)

    def attach(self, topic: str, loop: WorkLoop) -> None:
        """`loop` announces its new work under `topic` and wakes when others do."""
        self._loops[topic] = loop
        loop.announce = lambda: self.announce(topic)

    def announce(self, topic: str) -> None:
        self._pending.add(topic)
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(self._send(), name="wakeups")

    async def stop(self) -> None:
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender

    async def _send(self) -> None:
        while self._pending:
            topics, self._pending = self._pending, set()
            if not self._listener.listening:
                # Reconnecting: the others find the rows at their poll (nothing is lost).
                return
            try:
                await self._listener.notify(self._channel, ",".join(sorted(topics)))
            except Exception as exc:
                # A lost nudge delays the others' work to their poll; it loses nothing,
                # and must not fail anything here.
                self._log.warning("could not wake the other replicas",
                                  extra={"error": type(exc).__name__})  # fmt: skip
            await asyncio.sleep(WINDOW_SECONDS)

    def _heard(self, payload: str) -> None:
        for topic in payload.split(","):
            loop = self._loops.get(topic)
            if loop is not None:
                loop.wake()

    async def _wake_all(self) -> None:
        # While the connection was down the others' announcements were lost.
        for loop in self._loops.values():
            loop.wake()
