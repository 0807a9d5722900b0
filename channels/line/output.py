"""Sending to LINE: reply while the token is fresh, push otherwise, from the outbox.

LINE takes at most 5 messages per call and 5,000 characters per text; quick replies hold
at most 13 buttons with labels of at most 20 characters. Everything here fits the
neutral outbound messages into those limits. Errors are sorted for the outbox: 429, 5xx,
timeouts and connection failures are temporary; any other 4xx is permanent.
"""

from __future__ import annotations

import logging
import unicodedata
import uuid
from collections.abc import Sequence

import aiohttp
from linebot.v3.messaging import (
    ApiException,
    AsyncApiClient,
    AsyncMessagingApi,
    Configuration,
    PostbackAction,
    PushMessageRequest,
    QuickReply,
    QuickReplyItem,
    ReplyMessageRequest,
    Sender,
    TextMessage,
)

from bot.messages import Button, Outbound
from bot.ports import PermanentSendError, Recipient, TemporarySendError
from channels.line.events import LINE

MAX_MESSAGES_PER_CALL = 5
MAX_TEXT = 5000
MAX_QUICK_REPLIES = 13
MAX_LABEL = 20
MAX_DISPLAY_TEXT = 300
MAX_SENDER_NAME = 20
REQUEST_TIMEOUT = 10.0
# Namespace for push retry keys: the same queued messages always get the same key, so a
# push retried after a lost response is not delivered twice (LINE answers 409).
_RETRY_KEYS = uuid.UUID("6f1c2b7e-1d4e-4a8e-9a57-1b9c1e0f3a21")


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


def quick_reply(buttons: Sequence[Button]) -> QuickReply | None:
    if not buttons:
        return None
    items = [
        QuickReplyItem(
            action=PostbackAction(
                label=cut(b.label, MAX_LABEL),
                data=b.postback,
                # Shown in the chat as what the customer "said" by tapping.
                displayText=cut(b.label, MAX_DISPLAY_TEXT),
            )
        )
        for b in buttons[:MAX_QUICK_REPLIES]
    ]
    return QuickReply(items=items)


def line_messages(
    messages: Sequence[Outbound], agent_sender: str | None = None
) -> list[TextMessage]:
    """The outbound messages as LINE text messages; quick replies on each one's last piece
    (LINE shows the quick reply of the last message received). An agent's messages carry
    `agent_sender` as LINE's sender name, so the customer sees a person wrote them."""
    result: list[TextMessage] = []
    for message in messages:
        pieces = split_text(message.text)
        sender = None
        if agent_sender and message.role == "agent":
            sender = Sender(name=cut(agent_sender, MAX_SENDER_NAME))
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            result.append(
                TextMessage(
                    text=piece,
                    quickReply=quick_reply(message.buttons) if last else None,
                    sender=sender,
                )
            )
    return result


class LineOutput:
    """The outbox's sender for LINE. `open()` / `close()` bracket the HTTP client."""

    name = LINE
    max_batch = MAX_MESSAGES_PER_CALL

    def __init__(
        self,
        access_token: str,
        api_base_url: str,
        logger: logging.Logger,
        request_timeout: float = REQUEST_TIMEOUT,
        agent_sender: str | None = None,
    ) -> None:
        self._agent_sender = agent_sender
        self._configuration = Configuration(
            access_token=access_token, host=api_base_url.rstrip("/")
        )
        self._timeout = request_timeout
        self._log = logger
        self._client: AsyncApiClient | None = None
        self._api: AsyncMessagingApi | None = None

    async def open(self) -> None:
        # The SDK's client owns an aiohttp session, which needs the running loop.
        self._client = AsyncApiClient(self._configuration)
        self._api = AsyncMessagingApi(self._client)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
        self._client = self._api = None

    @property
    def api(self) -> AsyncMessagingApi:
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

    async def _reply(self, token: str, chunk: list[TextMessage]) -> bool:
        """True if replied; False when the token is no longer good (then push instead)."""
        try:
            await self._call(
                self.api.reply_message_with_http_info(
                    ReplyMessageRequest(replyToken=token, messages=chunk),
                    _request_timeout=self._timeout,
                )
            )
        except LineRefused as exc:
            if exc.status != 400:
                raise
            # An expired or used token is a 400; the push fallback still reaches them.
            self._log.info("reply token refused; pushing instead", extra={"error": str(exc)})
            return False
        return True

    async def _push(self, user_id: str, chunk: list[TextMessage], retry_key: str) -> None:
        try:
            await self._call(
                self.api.push_message_with_http_info(
                    PushMessageRequest(to=user_id, messages=chunk),
                    x_line_retry_key=retry_key,
                    _request_timeout=self._timeout,
                )
            )
        except LineRefused as exc:
            if exc.status != 409:
                raise
            # 409: a push with this retry key was accepted before: already delivered.

    async def _call(self, request: object) -> None:
        try:
            await request  # type: ignore[misc]
        except ApiException as exc:
            raise _classify(exc) from None
        except TimeoutError as exc:
            raise TemporarySendError(f"LINE API timed out: {exc!r}") from None
        except aiohttp.ClientError as exc:
            raise TemporarySendError(f"LINE API unreachable: {exc!r}") from None


class LineRefused(PermanentSendError):
    """A 4xx from LINE that retrying the same request cannot fix."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"LINE API refused ({status}): {body}")
        self.status = status


def _classify(exc: ApiException) -> TemporarySendError | LineRefused:
    status = int(exc.status or 0)
    body = exc.body.decode(errors="replace") if isinstance(exc.body, bytes) else str(exc.body)
    if status == 429 or status >= 500 or status == 0:
        return TemporarySendError(
            f"LINE API answered {status}: {body[:300]}", retry_after=_retry_after(exc)
        )
    return LineRefused(status, body[:300])


def _retry_after(exc: ApiException) -> float | None:
    headers = exc.headers or {}
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
