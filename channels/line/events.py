"""LINE webhook events, translated into what the core understands.

Parsing is ours, over the JSON LINE sends, so that an event type or message type LINE
adds tomorrow is ignored and logged rather than failing the whole delivery.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.messages import Inbound

LINE = "line"
# LINE accepts a reply token for about a minute; use it well inside that.
REPLY_TOKEN_LIFETIME = timedelta(seconds=50)


class MalformedEvent(ValueError):
    """An event that is not shaped like a LINE webhook event."""


@dataclass(frozen=True)
class Unfollow:
    """The user blocked the account: send them nothing more."""

    user_id: str


@dataclass(frozen=True)
class Ignored:
    reason: str


LineAction = Inbound | Unfollow | Ignored


def event_id(event: dict[str, Any]) -> str:
    """The event's `webhookEventId`, the key a redelivery repeats."""
    value = event.get("webhookEventId")
    if not isinstance(value, str) or not value:
        raise MalformedEvent("an event has no webhookEventId")
    return value


def sender(event: dict[str, Any]) -> str | None:
    source = event.get("source")
    if isinstance(source, dict) and isinstance(source.get("userId"), str):
        return str(source["userId"])
    return None


def translate(event: dict[str, Any], received_at: datetime) -> LineAction:
    """What one stored LINE event means for the engine."""
    kind = event.get("type")
    user_id = sender(event)
    if user_id is None:
        return Ignored(f"{kind} event without a user id (group or room source)")
    if kind == "unfollow":
        return Unfollow(user_id)
    sent_at = _timestamp(event) or received_at
    reply_token = event.get("replyToken") if isinstance(event.get("replyToken"), str) else None
    common: dict[str, Any] = {
        "channel": LINE,
        "customer_ref": user_id,
        "received_at": received_at,
        "event_id": event_id(event),
        "reply_token": reply_token,
        "reply_deadline": sent_at + REPLY_TOKEN_LIFETIME if reply_token else None,
    }
    if kind == "follow":
        return Inbound(follow=True, **common)
    if kind == "postback":
        postback = event.get("postback")
        data = postback.get("data") if isinstance(postback, dict) else None
        if not isinstance(data, str) or not data:
            raise MalformedEvent("a postback event has no postback.data")
        return Inbound(postback=data, **common)
    if kind == "message":
        message = event.get("message")
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise MalformedEvent("a message event has no message.type")
        if message["type"] == "text":
            text = message.get("text")
            if not isinstance(text, str) or not text.strip():
                raise MalformedEvent("a text message has no text")
            return Inbound(text=text, **common)
        return Inbound(media=str(message["type"]), **common)
    return Ignored(f"event type {kind!r} is not handled")


def _timestamp(event: dict[str, Any]) -> datetime | None:
    value = event.get("timestamp")
    if isinstance(value, int) and value > 0:
        try:
            return datetime.fromtimestamp(value / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            return None  # past what a datetime holds: not a time LINE sent
    return None
