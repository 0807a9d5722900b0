"""Domain events: what happened to a conversation, for the parts that react to it.

The engine and the handoff service record events in the transaction that made the
change (`bot.event_outbox`); handoff/, surveys/ and the Slack desk subscribe. Events are
stored as JSON, so each is a flat dataclass of JSON-friendly fields and a datetime.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any


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


EVENT_TYPES: dict[str, type[DomainEvent]] = {
    cls.__name__: cls
    for cls in (
        ConversationOpened,
        FaqAnswered,
        HandoffRequested,
        HandoffClaimed,
        CustomerMessageDuringHandoff,
        CaseReopened,
        ConversationResolved,
    )
}


def encode_event(event: DomainEvent) -> tuple[str, dict[str, Any]]:
    """(kind, JSON payload) of `event`."""
    payload = dataclasses.asdict(event)
    payload["occurred_at"] = event.occurred_at.isoformat()
    return type(event).__name__, payload


def decode_event(kind: str, payload: dict[str, Any]) -> DomainEvent:
    """The event `encode_event` stored; KeyError for a kind this version does not know."""
    cls = EVENT_TYPES[kind]
    fields = {f.name for f in dataclasses.fields(cls)}
    values = {name: value for name, value in payload.items() if name in fields}
    values["occurred_at"] = datetime.fromisoformat(payload["occurred_at"])
    return cls(**values)
