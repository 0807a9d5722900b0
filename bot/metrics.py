"""The server's Prometheus counters and histograms, in one object passed to the parts.

Each app builds its own `Metrics` with its own registry (never prometheus_client's global
one), so several apps in one test process do not collide and nothing registers at import
time. Counters count what this process did; the backlog gauges, which must read the same
on every replica, are computed from the database at scrape time (`bot.backlog`).
Label values come from small fixed sets (channels, decisions, results, route patterns),
never from ids or text, so the number of series stays bounded.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from prometheus_client import CollectorRegistry, Counter, Histogram


class SendResult(StrEnum):
    """What came of one delivery attempt (outbox message, Slack post)."""

    SENT = "sent"
    RETRY = "retry"  # failed for now; due again after a backoff
    FAILED = "failed"  # given up: a permanent error or too many attempts


class InboxResult(StrEnum):
    DONE = "done"
    RETRY = "retry"
    FAILED = "failed"


class SurveyResult(StrEnum):
    SENT = "sent"  # the question is in the customer's outbox
    SKIPPED = "skipped"  # a rule said no at send time
    ERROR = "error"  # sending raised; see the log


@dataclass(frozen=True)
class Metrics:
    registry: CollectorRegistry
    inbound_messages: Counter
    handoffs_requested: Counter
    outbox_sends: Counter
    slack_posts: Counter
    survey_sends: Counter
    webhook_events_received: Counter
    webhook_events_duplicate: Counter
    inbox_events: Counter
    event_deliveries: Counter
    request_seconds: Histogram

    @classmethod
    def create(cls) -> Metrics:
        """A fresh set of metrics in a registry of its own."""
        r = CollectorRegistry()
        return cls(
            registry=r,
            inbound_messages=Counter(
                "helpdesk_inbound_messages",
                "Customer messages handled by the engine, by channel and what the bot did.",
                ["channel", "decision"], registry=r,
            ),
            handoffs_requested=Counter(
                "helpdesk_handoffs_requested",
                "Conversations handed to people, by channel and reason.",
                ["channel", "reason"], registry=r,
            ),
            outbox_sends=Counter(
                "helpdesk_outbox_sends",
                "Messages to customers by channel and the result of the attempt.",
                ["channel", "result"], registry=r,
            ),
            slack_posts=Counter(
                "helpdesk_slack_posts",
                "Posts to the Slack agent desk by kind and the result of the attempt.",
                ["kind", "result"], registry=r,
            ),
            survey_sends=Counter(
                "helpdesk_survey_sends",
                "Due surveys taken by the ticker, by kind and what came of them.",
                ["kind", "result"], registry=r,
            ),
            webhook_events_received=Counter(
                "helpdesk_webhook_events_received",
                "Platform events received by a signed webhook (duplicates included).",
                ["channel"], registry=r,
            ),
            webhook_events_duplicate=Counter(
                "helpdesk_webhook_events_duplicate",
                "Redelivered platform events that were already stored or handled.",
                ["channel"], registry=r,
            ),
            inbox_events=Counter(
                "helpdesk_inbox_events",
                "Stored webhook events processed, by channel and result.",
                ["channel", "result"], registry=r,
            ),
            event_deliveries=Counter(
                "helpdesk_event_deliveries",
                "Domain events handed to a subscriber, by subscriber and result.",
                ["subscriber", "result"], registry=r,
            ),
            request_seconds=Histogram(
                "helpdesk_http_request_duration_seconds",
                "HTTP request latency by method, route pattern and status class.",
                ["method", "route", "status"], registry=r,
            ),
        )  # fmt: skip

    def message_handled(self, channel: str, decision: str) -> None:
        self.inbound_messages.labels(channel=channel, decision=decision).inc()

    def handoff_requested(self, channel: str, reason: str) -> None:
        """Counted by the engine after the commit that opened the case."""
        self.handoffs_requested.labels(channel=channel, reason=reason).inc()

    def event_delivered(self, subscriber: str, result: SendResult) -> None:
        self.event_deliveries.labels(subscriber=subscriber, result=result).inc()

    def outbox_sent(self, channel: str, result: SendResult, messages: int) -> None:
        self.outbox_sends.labels(channel=channel, result=result).inc(messages)

    def slack_posted(self, kind: str, result: SendResult) -> None:
        self.slack_posts.labels(kind=kind, result=result).inc()

    def survey_taken(self, kind: str, result: SurveyResult) -> None:
        self.survey_sends.labels(kind=kind, result=result).inc()

    def webhook_events(self, channel: str, received: int, duplicates: int) -> None:
        self.webhook_events_received.labels(channel=channel).inc(received)
        self.webhook_events_duplicate.labels(channel=channel).inc(duplicates)

    def inbox_processed(self, channel: str, result: InboxResult) -> None:
        self.inbox_events.labels(channel=channel, result=result).inc()

    def request_done(self, method: str, route: str, status: int, seconds: float) -> None:
        status_class = f"{status // 100}xx"
        self.request_seconds.labels(method=method, route=route, status=status_class).observe(
            seconds
        )
