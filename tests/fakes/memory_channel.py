"""An in-memory output channel for engine tests: records what it was asked to send."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.messages import Outbound
from bot.ports import PermanentSendError, Recipient, TemporarySendError


@dataclass
class MemoryChannel:
    name: str = "memory"
    sent: list[tuple[Recipient, Outbound]] = field(default_factory=list)
    # Errors to raise on the next sends, in order (None = succeed).
    failures: list[Exception | None] = field(default_factory=list)

    max_batch: int = 5
    calls: int = 0

    async def send(self, recipient: Recipient, messages: Sequence[Outbound]) -> None:
        self.calls += 1
        if self.failures:
            failure = self.failures.pop(0)
            if failure is not None:
                raise failure
        self.sent.extend((recipient, m) for m in messages)

    def texts(self) -> list[str]:
        return [m.text for _, m in self.sent]


__all__ = ["MemoryChannel", "PermanentSendError", "TemporarySendError"]
