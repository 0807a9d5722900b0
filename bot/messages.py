"""The neutral message model: what channels hand to the engine and get back.

Channels translate their platform's payloads into these at the edge; nothing keyed by
strings travels into the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Button:
    """A one-tap choice. Channels that cannot show buttons fall back to numbered text."""

    label: str
    postback: str


@dataclass(frozen=True)
class Inbound:
    """One thing a customer did: typed `text`, tapped a button carrying `postback`, sent
    something that is not text (`media`: "image", "sticker", ...), or started following
    the account (`follow`)."""

    channel: str
    customer_ref: str
    received_at: datetime
    text: str | None = None
    postback: str | None = None
    media: str | None = None
    follow: bool = False
    event_id: str | None = None
    locale: str | None = None
    # A channel's free, short-lived way to answer this inbound (LINE's reply token).
    reply_token: str | None = None
    reply_deadline: datetime | None = None


@dataclass(frozen=True)
class Outbound:
    """One message for a customer, already stored; `message_id` is its row id."""

    conversation_id: int
    message_id: int
    role: str
    text: str
    buttons: tuple[Button, ...] = field(default=())
    created_at: datetime | None = None
    # Set by the outbox when the inbound's reply token is still fresh.
    reply_token: str | None = None


def buttons_as_text(text: str, buttons: tuple[Button, ...]) -> str:
    """The fallback for channels without buttons: the choices as a numbered list."""
    if not buttons:
        return text
    lines = [text, ""] + [f"{i}. {b.label}" for i, b in enumerate(buttons, start=1)]
    return "\n".join(lines)
