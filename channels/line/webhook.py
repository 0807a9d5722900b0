"""`POST /webhooks/line`: verify, store, acknowledge; the inbox processes afterwards.

The signature is checked over the raw bytes before anything is parsed. Every event is
stored (deduplicated on `webhookEventId`) before the 200 goes out, so LINE's redelivery
has nothing to redo and a crash after the 200 loses nothing.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web

from bot.clock import Clock
from bot.db import SessionFactory
from bot.header_values import HeaderNotAscii, ascii_header
from bot.inbox import EventIntake, InboxProcessor
from bot.metrics import Metrics
from bot.models import InboxStatus
from bot.storable import unstorable
from channels.line.events import LINE, MalformedEvent, event_id, sender
from channels.line.signature import verify

WEBHOOK_PATH = "/webhooks/line"
SIGNATURE_HEADER = "X-Line-Signature"
INVALID_SIGNATURE = f"missing or invalid {SIGNATURE_HEADER}"


def _error(status: int, reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=status)


class LineWebhook:
    def __init__(
        self,
        channel_secret: str,
        sessions: SessionFactory,
        inbox: InboxProcessor,
        clock: Clock,
        logger: logging.Logger,
        metrics: Metrics | None = None,
    ) -> None:
        self._secret = channel_secret
        self._inbox = inbox
        self._intake = EventIntake(sessions)
        self._clock = clock
        self._log = logger
        self._metrics = metrics or Metrics.create()

    def register(self, router: web.UrlDispatcher) -> None:
        router.add_post(WEBHOOK_PATH, self.receive)

    async def receive(self, request: web.Request) -> web.Response:
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _error(413, "request body is too large")
        try:
            signature = ascii_header(request, SIGNATURE_HEADER)
        except HeaderNotAscii as exc:
            self._log.warning("line webhook with a signature that is not ASCII refused")
            return _error(401, f"{INVALID_SIGNATURE}: {exc}")
        if not verify(self._secret, body, signature.encode("ascii")):
            self._log.warning("line webhook with a missing or wrong signature refused")
            return _error(401, INVALID_SIGNATURE)
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            return _error(400, f"body is not valid JSON: {exc}")
        except RecursionError:
            return _error(400, "body is not valid JSON: nested too deeply")
        if not isinstance(data, dict) or not isinstance(data.get("events"), list):
            return _error(400, 'expected a JSON object with an "events" list')
        problem = unstorable(data)
        if problem is not None:
            return _error(400, f"body cannot be stored: {problem}")
        now = self._clock()
        rows: list[dict[str, Any]] = []
        for index, event in enumerate(data["events"]):
            if not isinstance(event, dict):
                return _error(400, f"events[{index}] is not an object")
            try:
                key = event_id(event)
            except MalformedEvent as exc:
                return _error(400, f"events[{index}]: {exc}")
            rows.append(
                {
                    "channel": LINE,
                    "event_id": key,
                    "sender": sender(event) or "",
                    "payload": event,
                    "status": InboxStatus.PENDING,
                    "attempts": 0,
                    "due_at": now,
                    "received_at": now,
                }
            )
        new = await self._intake.store(rows)
        self._metrics.webhook_events(LINE, received=len(rows), duplicates=len(rows) - new)
        if new:
            self._inbox.notify()
        self._log.info("line webhook stored", extra={"events": len(rows), "new": new})
        return web.json_response({})
