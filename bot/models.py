"""Database tables (SQLModel). The schema itself is created by Alembic migrations."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Table, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

JSON_TYPE = JSON().with_variant(JSONB(), "postgresql")


class ConversationStatus(StrEnum):
    BOT = "bot"  # the bot is answering
    WAITING = "waiting"  # handoff asked; in the agents' queue
    AGENT = "agent"  # an agent claimed it
    RESOLVED = "resolved"


class Resolution(StrEnum):
    SELF = "self"  # the customer confirmed a bot answer helped
    AGENT = "agent"
    CUSTOMER = "customer"  # the customer said it was solved without confirming an answer


class Role(StrEnum):
    CUSTOMER = "customer"
    BOT = "bot"
    AGENT = "agent"
    SYSTEM = "system"


class HandoffReason(StrEnum):
    NO_MATCH = "no_match"
    CUSTOMER_REQUEST = "customer_request"
    NOT_HELPFUL = "not_helpful"
    SURVEY_FOLLOW_UP = "survey_follow_up"  # a low survey score asked for a person


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # gave up: a permanent error or too many attempts


class Customer(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    display_name: str | None = None
    created_at: datetime


class Identity(SQLModel, table=True):
    """How a customer is known on one channel (web session, LINE user id, ...)."""

    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_identity_channel_ext"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    channel: str
    external_id: str
    created_at: datetime
    # Set when the customer blocked us on this channel (LINE unfollow): send nothing.
    blocked_at: datetime | None = None
    # When the platform profile (display name) was last fetched; the row is the cache.
    profile_fetched_at: datetime | None = None


class ChatSession(SQLModel, table=True):
    """A web chat session: the bearer token (stored hashed) that speaks for one identity."""

    __tablename__ = "chat_session"

    id: str = Field(primary_key=True)
    identity_id: int = Field(foreign_key="identity.id", index=True)
    token_hash: str = Field(unique=True)
    locale: str | None = None
    created_at: datetime
    # The token is refused from then on; each use moves it forward (channels.web.expiry).
    # None only on rows the release before expiry wrote while a rolling upgrade ran: they
    # count from created_at.
    expires_at: datetime | None = None


class Conversation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    identity_id: int = Field(foreign_key="identity.id", index=True)
    channel: str
    status: str = Field(default=ConversationStatus.BOT, index=True)
    locale: str
    locale_explicit: bool = False
    resolution: str | None = None
    not_helpful_count: int = 0
    opened_at: datetime
    closed_at: datetime | None = None
    # A returning customer (bot.returning): the customer's earlier case this one may follow
    # up, when the bot asked, and the answer (True: the same matter, False: a new one,
    # None: not answered).
    returning_of: int | None = Field(default=None, foreign_key="conversation.id", index=True)
    returning_asked_at: datetime | None = None
    follow_up: bool | None = None


class Message(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    role: str
    text: str
    buttons: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON_TYPE)
    postback: str | None = None
    faq_entry_id: str | None = None
    faq_score: float | None = None
    decision: str | None = None
    created_at: datetime


class Handoff(SQLModel, table=True):
    """One case: a conversation handed to people, from the request until it is closed."""

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    reason: str
    requested_at: datetime
    claimed_at: datetime | None = None
    agent_ref: str | None = None
    agent_name: str | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    # The first agent reply that reached the customer's outbox (first response time).
    first_response_at: datetime | None = None
    # When an unclaimed case is raised again to the agents; cleared by a claim.
    remind_at: datetime | None = Field(default=None, index=True)
    # The case's thread in Slack, once its root message is posted.
    slack_channel: str | None = None
    slack_thread_ts: str | None = Field(default=None, index=True)


class ProcessedEvent(SQLModel, table=True):
    """Webhook dedupe: a platform event id is inserted once; a second insert fails."""

    __tablename__ = "processed_event"
    __table_args__ = (UniqueConstraint("channel", "event_id", name="uq_processed_event"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str
    event_id: str
    processed_at: datetime


class Outbox(SQLModel, table=True):
    """A message to deliver; retried with backoff until the channel accepts it."""

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", index=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    channel: str
    status: str = Field(default=OutboxStatus.PENDING, index=True)
    attempts: int = 0
    due_at: datetime = Field(index=True)
    last_error: str | None = None
    created_at: datetime
    sent_at: datetime | None = None
    # A channel's free, short-lived way to answer an inbound (LINE reply token), if any.
    reply_token: str | None = None
    reply_deadline: datetime | None = None


class UnansweredQuestion(SQLModel, table=True):
    """A customer question the FAQ did not settle: it ended in a handoff or a "no".

    `helpdesk faq unanswered` groups these so admins can see which entries to write.
    """

    __tablename__ = "unanswered_question"

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    message_id: int = Field(foreign_key="message.id", unique=True)
    text: str
    locale: str
    reason: str
    candidates: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON_TYPE)
    created_at: datetime = Field(index=True)


class InboxStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"


class InboundEvent(SQLModel, table=True):
    """A webhook event stored before the webhook is acknowledged, processed afterwards.

    The unique (channel, event_id) key is the webhook dedupe: a redelivery inserts nothing.
    """

    __tablename__ = "inbound_event"
    __table_args__ = (UniqueConstraint("channel", "event_id", name="uq_inbound_event"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str
    event_id: str
    # Who sent it (LINE user id): one sender's events are processed one at a time, in order.
    sender: str = Field(default="", index=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON_TYPE)
    status: str = Field(default=InboxStatus.PENDING, index=True)
    attempts: int = 0
    due_at: datetime = Field(index=True)
    last_error: str | None = None
    received_at: datetime
    processed_at: datetime | None = None


class EventDeliveryStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"  # gave up after too many attempts; an operator looks at last_error


class EventDelivery(SQLModel, table=True):
    """One domain event owed to one subscriber: the transactional outbox of events.

    Written in the transaction that made the change the event reports, so a commit
    always leaves its deliveries behind; marked done in the transaction that does the
    subscriber's work, so that work happens once however often the row is retried.
    """

    __tablename__ = "event_delivery"
    __table_args__ = (
        UniqueConstraint("event_key", "subscriber", name="uq_event_delivery"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # The event's idempotency key, shared by its rows for each subscriber.
    event_key: str
    subscriber: str
    kind: str
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON_TYPE)
    # subscriber:conversation: a subscriber sees one conversation's events in order.
    group_key: str = Field(index=True)
    status: str = Field(default=EventDeliveryStatus.PENDING, index=True)
    attempts: int = 0
    due_at: datetime = Field(index=True)
    last_error: str | None = None
    created_at: datetime
    handled_at: datetime | None = None


class LinkCode(SQLModel, table=True):
    """A one-time code that joins the identity that redeems it to the issuing customer."""

    __tablename__ = "link_code"

    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(unique=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    identity_id: int = Field(foreign_key="identity.id")
    expires_at: datetime
    used_at: datetime | None = None
    created_at: datetime


class SlackPostKind(StrEnum):
    ROOT = "root"  # the case's root message; its ts becomes the thread
    THREAD = "thread"  # a reply in the case's thread
    UPDATE = "update"  # re-render the root message (claimed, resolved)
    ALERT = "alert"  # a top-level message about a conversation without a case (surveys)
    DIGEST = "digest"  # the daily KPI digest: a top-level message about no conversation


class SlackPost(SQLModel, table=True):
    """A post to Slack, retried with backoff until Slack takes it; one case's posts go
    out one at a time, in order (the root first). Kept apart from `outbox` so that
    customers' messages never wait behind Slack."""

    __tablename__ = "slack_post"
    __table_args__ = (UniqueConstraint("dedupe_key", name="uq_slack_post_dedupe_key"),)

    id: int | None = Field(default=None, primary_key=True)
    # None only for a DIGEST; each such post is a group of its own when claimed.
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id", index=True)
    # None only for an ALERT about a conversation that never became a case.
    handoff_id: int | None = Field(default=None, foreign_key="handoff.id", index=True)
    kind: str
    # A post that must go out once whoever queues it (the digest of a day, from any
    # replica) carries a key; the unique index turns the second insert into a no-op.
    dedupe_key: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON_TYPE)
    status: str = Field(default=OutboxStatus.PENDING, index=True)
    attempts: int = 0
    due_at: datetime = Field(index=True)
    last_error: str | None = None
    created_at: datetime
    sent_at: datetime | None = None
    # The ts Slack gave the posted message.
    result_ts: str | None = None


class SurveyKind(StrEnum):
    CSAT = "csat"  # 1-5: how satisfied with this support
    NPS = "nps"  # 0-10: how likely to recommend us
    CES = "ces"  # 1-7: how easy it was to get the issue solved (7 = very easy)


class SurveyStatus(StrEnum):
    PLANNED = "planned"  # waiting for due_at
    SENDING = "sending"  # claimed by a ticker (only ever inside its transaction)
    SENT = "sent"  # the question is in the customer's outbox
    ANSWERED = "answered"
    EXPIRED = "expired"  # not answered before expires_at
    SKIPPED = "skipped"  # a rule said no; skip_reason names it


class Survey(SQLModel, table=True):
    """One CSAT, NPS or CES micro-survey after a resolved conversation.

    The row is the timer: a ticker claims rows whose `due_at` has passed (see
    `surveys.dispatcher`), so a restart or a second process neither loses nor doubles
    one. The answer (score and optional comment) is stored on the row itself.
    """

    # One survey per conversation: a ConversationResolved seen twice plans nothing new.
    __table_args__ = (UniqueConstraint("conversation_id", name="uq_survey_conversation"),)

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id")
    customer_id: int = Field(foreign_key="customer.id", index=True)
    channel: str
    kind: str
    status: str = Field(default=SurveyStatus.PLANNED, index=True)
    skip_reason: str | None = None
    attempts: int = 0
    due_at: datetime = Field(index=True)
    sent_at: datetime | None = None
    expires_at: datetime | None = None
    answered_at: datetime | None = None
    score: int | None = None
    comment: str | None = Field(default=None, sa_type=Text)
    # Until when the customer's next text counts as the comment (None: not waiting).
    comment_until: datetime | None = None
    # The bot message that asked the question.
    message_id: int | None = Field(default=None, foreign_key="message.id")
    created_at: datetime


def table_of(model: type[SQLModel]) -> Table:
    """A table model's Core table, for bulk statements with a list of rows (SQLModel
    does not declare `__table__` to the type checker)."""
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table
