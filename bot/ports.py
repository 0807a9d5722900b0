"""What the core needs from the outside: an output channel per transport."""

from __future__ import annotations

import math
from collections.abc import Sequence
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


def retry_after_seconds(value: str | None) -> float | None:
    """A platform's `Retry-After` header in seconds; None when absent, an HTTP date or
    nonsense (then the outbox's own backoff applies). A negative, infinite or NaN value
    is nonsense too: it would stop the retry timer or overflow the next due time."""
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds


class PermanentSendError(Exception):
    """The platform will never accept this message (a 4xx that retrying cannot fix)."""


class OutputChannel(Protocol):
    """A transport's sending side. Text is required; buttons are optional per channel."""

    name: str
    # How many queued messages of one conversation the channel takes in one call.
    max_batch: int

    async def send(self, recipient: Recipient, messages: Sequence[Outbound]) -> None:
        """Deliver the messages, in order, or raise TemporarySendError / PermanentSendError
        (then all of them are retried or given up together)."""
        ...
