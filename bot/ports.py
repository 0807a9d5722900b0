"""What the core needs from the outside: an output channel per transport."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.messages import Outbound


@dataclass(frozen=True)
class Recipient:
    """Who a message goes to on its channel."""

    channel: str
    external_id: str
    customer_id: int


class TemporarySendError(Exception):
    """The platform may accept the message later (5xx, 429, timeout)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class PermanentSendError(Exception):
    """The platform will never accept this message (a 4xx that retrying cannot fix)."""


class OutputChannel(Protocol):
    """A transport's sending side. Text is required; buttons are optional per channel."""

    name: str

    async def send(self, recipient: Recipient, message: Outbound) -> None:
        """Deliver one message or raise TemporarySendError / PermanentSendError."""
        ...
