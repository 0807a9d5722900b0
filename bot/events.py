"""Domain events and the in-process bus that carries them to subscribers.

The engine publishes; handoff/ and surveys/ subscribe. Events are published after the
transaction that caused them has committed, so a subscriber always sees the rows.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar


@dataclass(frozen=True)
class DomainEvent:
    conversation_id: int
    customer_id: int
    channel: str
    occurred_at: datetime


@dataclass(frozen=True)
class ConversationOpened(DomainEvent):
    pass


@dataclass(frozen=True)
class FaqAnswered(DomainEvent):
    entry_id: str
    score: float


@dataclass(frozen=True)
class HandoffRequested(DomainEvent):
    handoff_id: int
    reason: str


@dataclass(frozen=True)
class HandoffClaimed(DomainEvent):
    """An agent took the case (with the Claim button, or by replying first)."""

    handoff_id: int
    agent_ref: str
    agent_name: str | None


@dataclass(frozen=True)
class CustomerMessageDuringHandoff(DomainEvent):
    """A customer wrote while the conversation is with (or waiting for) an agent."""

    message_id: int


@dataclass(frozen=True)
class CaseReopened(DomainEvent):
    """An agent reopened a resolved conversation (from a survey alert) and has its case."""

    handoff_id: int
    agent_ref: str
    agent_name: str | None


@dataclass(frozen=True)
class ConversationResolved(DomainEvent):
    resolution: str


E = TypeVar("E", bound=DomainEvent)
Handler = Callable[[Any], Awaitable[None]]


class EventBus:
    """Typed publish/subscribe; a failing subscriber is logged and does not stop the others."""

    def __init__(self, logger: logging.Logger) -> None:
        self._handlers: dict[type[DomainEvent], list[Handler]] = defaultdict(list)
        self._logger = logger

    def subscribe(self, event_type: type[E], handler: Callable[[E], Awaitable[None]]) -> None:
        self._handlers[event_type].append(handler)

    async def publish(self, event: DomainEvent) -> None:
        for event_type in type(event).__mro__:
            for handler in self._handlers.get(event_type, ()):
                try:
                    await handler(event)
                except Exception:
                    self._logger.exception(
                        "event handler failed",
                        extra={
                            "event": type(event).__name__,
                            "conversation": event.conversation_id,
                        },
                    )
