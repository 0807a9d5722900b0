"""Sending to LINE: reply while the token is fresh, push otherwise, from the outbox.

LINE takes at most 5 messages per call and 5,000 characters per text; quick replies hold
at most 13 buttons with labels of at most 20 characters. Everything here fits the
neutral outbound messages into those limits. Errors are sorted for the outbox: 429, 5xx,
timeouts and connection failures are temporary; any other 4xx is permanent.

Messages are built as the API's JSON here and posted by `channels.line.messaging_api`,
not through the SDK's models: serialising those took three quarters of the CPU of a
push (measured with 10,000 surveys), and the JSON is a handful of fields.
"""

from __future__ import annotations

import logging
import unicodedata
import uuid
from collections.abc import Sequence
from typing import Any

from linebot.v3.messaging import AsyncApiClient, AsyncMessagingApi, Configuration

from bot.clock import Clock
from bot.messages import Button, Outbound
from bot.pacing import PacedOut, Pacer
from bot.ports import Recipient, TemporarySendError
from channels.line.events import LINE
from channels.line.messaging_api import LineRateLimited, LineRefused, MessagingApi

MAX_MESSAGES_PER_CALL = 5
MAX_TEXT = 5000
MAX_QUICK_REPLIES = 13
MAX_LABEL = 20
MAX_DISPLAY_TEXT = 300
MAX_SENDER_NAME = 20
REQUEST_TIMEOUT = 10.0
# LINE's published limit for the messaging endpoints is 2,000 requests a second per
# channel; a bucket of 200 refilled at 1,800 a second never starts more in any second.
RATE_PER_SECOND = 1800.0
RATE_BURST = 200
# Namespace for push retry keys: the same queued messages always get the same key, so a
# push retried after a lost response is not delivered twice (LINE answers 409).
_RETRY_KEYS = uuid.UUID("6f1c2b7e-1d4e-4a8e-9a57-1b9c1e0f3a21")

JsonObject = dict[str, Any]


def cut(text: str, limit: int) -> str:
    """At most `limit` characters, never ending inside a character sequence that belongs
    together (a base letter and its combining marks, an emoji and its modifiers)."""
    if len(text) <= limit:
        return text
    end = limit - 1  # leave room for the ellipsis
    while end > 0 and _joins_previous(text[end]):
        end -= 1
    return text[:end].rstrip() + "…"


def _joins_previous(ch: str) -> bool:
    return (
        unicodedata.combining(ch) != 0
        or unicodedata.category(ch) in ("Mn", "Me", "Sk")
        or ch in ("\u200d", "\ufe0e", "\ufe0f")
        or "\U0001f3fb" <= ch <= "\U0001f3ff"  # skin tone modifiers
        or ch in ("\u3099", "\u309a")  # combining dakuten / handakuten
    )


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Pieces of at most `limit` characters, split at a line break where there is one."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        at = rest.rfind("\n", 0, limit)
        if at <= 0:
            at = limit
            while at > 1 and _joins_previous(rest[at]):
                at -= 1
        pieces.append(rest[:at])
        rest = rest[at:].lstrip("\n")
    pieces.append(rest)
    return pieces


def quick_reply(buttons: Sequence[Button]) -> JsonObject | None:
    if not buttons:
        return None
    items = [
        {
            "type": "action",
            "action": {
                "type": "postback",
                "label": cut(b.label, MAX_LABEL),
                "data": b.postback,
                # Shown in the chat as what the customer "said" by tapping.
                "displayText": cut(b.label, MAX_DISPLAY_TEXT),
            },
        }
        for b in buttons[:MAX_QUICK_REPLIES]
    ]
    return {"items": items}


def line_messages(
    messages: Sequence[Outbound], agent_sender: str | None = None
) -> list[JsonObject]:
    """The outbound messages as LINE text messages; quick replies on each one's last piece
    (LINE shows the quick reply of the last message received). An agent's messages carry
    `agent_sender` as LINE's sender name, so the customer sees a person wrote them."""
    result: list[JsonObject] = []
    for message in messages:
        pieces = split_text(message.text)
        sender = None
        if agent_sender and message.role == "agent":
            sender = {"name": cut(agent_sender, MAX_SENDER_NAME)}
        for i, piece in enumerate(pieces):
            converted: JsonObject = {"type": "text", "text": piece}
            buttons = quick_reply(message.buttons) if i == len(pieces) - 1 else None
            if buttons is not None:
                converted["quickReply"] = buttons
            if sender is not None:
                converted["sender"] = sender
            result.append(converted)
    return result


class LineOutput:
    """The outbox's sender for LINE. `open()` / `close()` bracket the HTTP clients."""

    name = LINE
    max_batch = MAX_MESSAGES_PER_CALL

    def __init__(
        self,
        access_token: str,
        api_base_url: str,
        logger: logging.Logger,
        clock: Clock,
        request_timeout: float = REQUEST_TIMEOUT,
        agent_sender: str | None = None,
    ) -> None:
        self._agent_sender = agent_sender
        self._configuration = Configuration(
            access_token=access_token, host=api_base_url.rstrip("/")
        )
        self._messaging = MessagingApi(access_token, api_base_url, request_timeout)
        self._pacer = Pacer(RATE_PER_SECOND, RATE_BURST, clock)
        self._log = logger
        self._client: AsyncApiClient | None = None
        self._api: AsyncMessagingApi | None = None

    async def open(self) -> None:
        # The SDK's client (profiles) and ours own aiohttp sessions: they need the loop.
        self._client = AsyncApiClient(self._configuration)
        self._api = AsyncMessagingApi(self._client)
        await self._messaging.open()

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
        self._client = self._api = None
        await self._messaging.close()

    @property
    def api(self) -> AsyncMessagingApi:
        """The SDK's client, for the calls off the hot path (profiles)."""
        if self._api is None:
            raise RuntimeError("LineOutput is not open")
        return self._api

    async def send(self, recipient: Recipient, messages: Sequence[Outbound]) -> None:
        converted = line_messages(messages, self._agent_sender)
        chunks = [
            converted[i : i + MAX_MESSAGES_PER_CALL]
            for i in range(0, len(converted), MAX_MESSAGES_PER_CALL)
        ]
        reply_token = messages[0].reply_token if messages else None
        for index, chunk in enumerate(chunks):
            if index == 0 and reply_token is not None and await self._reply(reply_token, chunk):
                continue
            key = uuid.uuid5(_RETRY_KEYS, f"{messages[0].message_id}:{index}")
            await self._push(recipient.external_id, chunk, str(key))

    async def _reply(self, token: str, chunk: list[JsonObject]) -> bool:
        """True if replied; False when the token is no longer good (then push instead)."""
        try:
            await self._post("reply", {"replyToken": token, "messages": chunk})
        except LineRefused as exc:
            if exc.status != 400:
                raise
            # An expired or used token is a 400; the push fallback still reaches them.
            self._log.info("reply token refused; pushing instead", extra={"error": str(exc)})
            return False
        return True

    async def _push(self, user_id: str, chunk: list[JsonObject], retry_key: str) -> None:
        try:
            await self._post("push", {"to": user_id, "messages": chunk}, retry_key)
        except LineRefused as exc:
            if exc.status != 409:
                raise
            # 409: a push with this retry key was accepted before: already delivered.

    async def _post(self, kind: str, body: JsonObject, retry_key: str | None = None) -> None:
        """One paced call; a 429 holds every sender of this channel for its Retry-After."""
        try:
            await self._pacer.take()
        except PacedOut as exc:
            raise TemporarySendError(str(exc), retry_after=exc.retry_after) from None
        try:
            await self._messaging.post(kind, body, retry_key)
        except LineRateLimited as exc:
            self._pacer.hold(exc.retry_after if exc.retry_after is not None else 1.0)
            raise
