"""The Slack outbox: posts to Slack are rows, retried with backoff until Slack takes them.

A case's posts share its conversation id as their group, so `bot.claims.claim_due` hands
out one at a time and in order: the root message first (its ts becomes the case's
thread), then thread replies and root updates. A daily digest has no conversation: a
NULL group never equals another, so each digest is a group of its own. Rate limits (with
Retry-After), 5xx and timeouts are retried; any other refusal is recorded on the row and
given up.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.claims import POLL_SECONDS, LoopingWorker, WorkLoop, backoff, claim_due, work_on
from bot.clock import Clock
from bot.db import SessionFactory
from bot.metrics import Metrics, SendResult
from bot.models import Handoff, OutboxStatus, SlackPost, SlackPostKind
from bot.ports import PermanentSendError, TemporarySendError, retry_after_seconds
from channels.slack.cases import load_case
from channels.slack.render import updated_root

# Temporary failures are retried for about a day (backoff caps at 10 minutes): a Slack
# outage must not lose what a customer wrote.
MAX_ATTEMPTS = 150
LEASE = timedelta(seconds=60)
BATCH = 50
CONCURRENCY = 8
# Slack's own errors that mean "try again later".
TRANSIENT_ERRORS = {"ratelimited", "internal_error", "fatal_error", "service_unavailable",
                    "request_timeout"}  # fmt: skip


async def add_post(
    session: AsyncSession,
    handoff: Handoff,
    kind: SlackPostKind,
    payload: dict[str, Any],
    now: datetime,
) -> None:
    """Queue a post for the case in the caller's transaction; call `notify()` after."""
    assert handoff.id is not None
    session.add(
        SlackPost(
            conversation_id=handoff.conversation_id,
            handoff_id=handoff.id,
            kind=kind,
            payload=payload,
            due_at=now,
            created_at=now,
        )
    )


async def root_post(session: AsyncSession, handoff_id: int) -> SlackPost | None:
    query = select(SlackPost).where(
        SlackPost.handoff_id == handoff_id, SlackPost.kind == SlackPostKind.ROOT
    )
    return (await session.exec(query.order_by(col(SlackPost.id)))).first()


class SlackPoster(LoopingWorker):
    """Claims due `slack_post` rows and sends them with the Web API client."""

    def __init__(
        self,
        sessions: SessionFactory,
        client: AsyncWebClient,
        channel: str,
        clock: Clock,
        logger: logging.Logger,
        poll_seconds: float = POLL_SECONDS,
        lease: timedelta = LEASE,
        metrics: Metrics | None = None,
    ) -> None:
        self._sessions = sessions
        self._client = client
        self._lease = lease
        self._channel = channel
        self._clock = clock
        self._log = logger
        self._metrics = metrics or Metrics.create()
        self._loop = WorkLoop(self.dispatch_once, BATCH, poll_seconds, logger, "slack posting")

    async def dispatch_once(self) -> int:
        """Claim and send one batch of due posts; return how many were claimed."""
        async with self._sessions() as session, session.begin():
            ids = await claim_due(
                session, SlackPost, "conversation_id", OutboxStatus.PENDING,
                OutboxStatus.SENDING, self._clock(), self._lease, BATCH,
            )  # fmt: skip
        await work_on(ids, self._send, CONCURRENCY)
        return len(ids)

    async def _send(self, post_id: int) -> None:
        async with self._sessions() as session:
            post = await session.get(SlackPost, post_id)
            assert post is not None
            handoff: Handoff | None = None
            root: SlackPost | None = None
            if post.handoff_id is not None:
                handoff = await session.get(Handoff, post.handoff_id)
                root = await root_post(session, post.handoff_id)
        error: str | None = None
        retry_after: float | None = None
        permanent = False
        posted: tuple[str, str] | None = None
        try:
            posted = await self._post(post, handoff, root)
        except TemporarySendError as exc:
            error, retry_after = str(exc), exc.retry_after
        except PermanentSendError as exc:
            error, permanent = str(exc), True
        except Exception as exc:  # unexpected: retried like a temporary failure
            self._log.exception("slack post raised", extra={"slack_post": post_id})
            error = f"{type(exc).__name__}: {exc}"
        await self._record(post, error, retry_after, permanent, posted)

    async def _post(
        self, post: SlackPost, handoff: Handoff | None, root: SlackPost | None
    ) -> tuple[str, str] | None:
        """Make the API call; for a root message return its (channel, ts)."""
        payload = post.payload
        if post.kind in (SlackPostKind.ALERT, SlackPostKind.DIGEST):
            # Not part of any case's thread: a message of its own in the channel.
            await self._call(
                self._client.chat_postMessage(
                    channel=self._channel, text=payload["text"], blocks=payload.get("blocks"),
                    unfurl_links=False, unfurl_media=False,
                )
            )  # fmt: skip
            return None
        if handoff is None:
            raise PermanentSendError("a case post without its case")
        if post.kind == SlackPostKind.ROOT:
            response = await self._call(
                self._client.chat_postMessage(
                    channel=self._channel, text=payload["text"], blocks=payload.get("blocks"),
                    unfurl_links=False, unfurl_media=False,
                )
            )  # fmt: skip
            return str(response["channel"]), str(response["ts"])
        if handoff.slack_channel is None or handoff.slack_thread_ts is None:
            if root is None or root.status == OutboxStatus.FAILED:
                raise PermanentSendError("the case's root message was never posted")
            raise TemporarySendError("the case's root message is not posted yet")
        if post.kind == SlackPostKind.UPDATE:
            assert root is not None
            async with self._sessions() as session:
                case = await load_case(session, handoff.id or 0)
            assert case is not None
            message = updated_root(root.payload, case)
            await self._call(
                self._client.chat_update(
                    channel=handoff.slack_channel, ts=handoff.slack_thread_ts,
                    text=message["text"], blocks=message["blocks"],
                )
            )  # fmt: skip
            return None
        await self._call(
            self._client.chat_postMessage(
                channel=handoff.slack_channel, thread_ts=handoff.slack_thread_ts,
                text=payload["text"], blocks=payload.get("blocks"),
                reply_broadcast=bool(payload.get("broadcast", False)),
                unfurl_links=False, unfurl_media=False,
            )
        )  # fmt: skip
        return None

    async def _call(self, request: Any) -> Any:
        try:
            return await request
        except SlackApiError as exc:
            raise classify(exc) from None
        except TimeoutError as exc:
            raise TemporarySendError(f"Slack API timed out: {exc!r}") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise TemporarySendError(f"Slack API unreachable: {exc!r}") from None

    async def _record(
        self,
        post: SlackPost,
        error: str | None,
        retry_after: float | None,
        permanent: bool,
        posted: tuple[str, str] | None,
    ) -> None:
        now = self._clock()
        values: dict[str, object]
        result = SendResult.RETRY
        if error is None:
            result = SendResult.SENT
            values = {"status": OutboxStatus.SENT, "sent_at": now, "last_error": None}
            if posted is not None:
                values["result_ts"] = posted[1]
        elif permanent or post.attempts >= MAX_ATTEMPTS:
            result = SendResult.FAILED
            values = {"status": OutboxStatus.FAILED, "last_error": error[:500]}
            self._log.error(
                "slack post given up",
                extra={"slack_post": post.id, "kind": post.kind, "error": error[:200]},
            )
        else:
            delay = backoff(post.attempts)
            if retry_after is not None:
                delay = max(delay, timedelta(seconds=retry_after))
            values = {"status": OutboxStatus.PENDING, "due_at": now + delay,
                      "last_error": error[:500]}  # fmt: skip
            self._loop.wake_in(delay.total_seconds())
            self._log.warning(
                "slack post failed; will retry",
                extra={"slack_post": post.id, "retry_in": delay.total_seconds()},
            )
        async with self._sessions() as session, session.begin():
            await session.exec(
                update(SlackPost)
                .where(col(SlackPost.id) == post.id, col(SlackPost.status) == OutboxStatus.SENDING)
                .values(**values)
            )
            if posted is not None:
                # The thread is the case: later posts and the agents' replies find it here.
                await session.exec(
                    update(Handoff)
                    .where(col(Handoff.id) == post.handoff_id)
                    .values(slack_channel=posted[0], slack_thread_ts=posted[1])
                )
        self._metrics.slack_posted(post.kind, result)


def classify(exc: SlackApiError) -> TemporarySendError | PermanentSendError:
    """Sort a Web API failure: worth retrying (with Slack's Retry-After) or not."""
    response = exc.response
    status = int(getattr(response, "status_code", 0) or 0)
    data = getattr(response, "data", None)
    error = str(data.get("error", "")) if isinstance(data, dict) else ""
    detail = f"Slack API answered {status}: {error or 'no error code'}"
    if status == 429 or status >= 500 or error in TRANSIENT_ERRORS:
        return TemporarySendError(detail, retry_after=_retry_after(response))
    return PermanentSendError(detail)


def _retry_after(response: Any) -> float | None:
    headers = getattr(response, "headers", None) or {}
    return retry_after_seconds(headers.get("Retry-After") or headers.get("retry-after"))
