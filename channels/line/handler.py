"""Processing one stored LINE event: block/unblock, the engine, the customer's name."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from linebot.v3.messaging import ApiException
from sqlalchemy import bindparam, or_, update

from bot.clock import Clock
from bot.db import SessionFactory
from bot.engine import Engine, TurnFence
from bot.group_commit import GroupCommit
from bot.messages import Inbound
from bot.models import Customer, Identity, table_of
from bot.store import get_or_create_identity
from channels.line.events import LINE, Ignored, MalformedEvent, Unfollow, translate
from channels.line.output import LineOutput

# The display name is refreshed at most this often (the identity row is the cache).
PROFILE_MAX_AGE = timedelta(hours=24)
PROFILE_MEMO_SIZE = 10_000


class LineEventHandler:
    def __init__(
        self,
        engine: Engine,
        sessions: SessionFactory,
        output: LineOutput,
        clock: Clock,
        logger: logging.Logger,
    ) -> None:
        self._engine = engine
        self._sessions = sessions
        self._output = output
        self._clock = clock
        self._log = logger
        # When this process last looked at each user's profile: spares a database read
        # per message. Bounded by dropping the oldest half when full.
        self._profile_checked: dict[str, datetime] = {}
        self._profile_statements = _ProfileStatements.build()
        self._writes = GroupCommit(sessions)

    async def process(self, payload: dict[str, Any], claim: TurnFence) -> None:
        try:
            action = translate(payload, self._clock())
        except MalformedEvent as exc:
            # A retry cannot mend the payload: record why and drop it.
            self._log.warning("line event malformed; dropped", extra={"reason": str(exc)})
            return
        if isinstance(action, Ignored):
            self._log.info("line event ignored", extra={"reason": action.reason})
            return
        if isinstance(action, Unfollow):
            await self._set_blocked(action.user_id, blocked=True)
            self._log.info("line user unfollowed; nothing more is sent to them")
            return
        if action.follow:
            await self._set_blocked(action.customer_ref, blocked=False)
        await self._engine.handle(action, fence=claim)
        await self._refresh_profile(action)

    def _remember_check(self, user_id: str, now: datetime) -> None:
        if len(self._profile_checked) >= PROFILE_MEMO_SIZE:
            oldest = sorted(self._profile_checked, key=self._profile_checked.__getitem__)
            for key in oldest[: PROFILE_MEMO_SIZE // 2]:
                del self._profile_checked[key]
        self._profile_checked[user_id] = now

    async def _set_blocked(self, user_id: str, *, blocked: bool) -> None:
        now = self._clock()
        async with self._sessions() as session, session.begin():
            identity = await get_or_create_identity(session, LINE, user_id, now)
            identity.blocked_at = now if blocked else None

    async def _refresh_profile(self, inbound: Inbound) -> None:
        """Fetch the customer's LINE display name when it is missing or old, for agents.

        The identity is claimed for the fetch by one UPDATE that finds it missing or old
        and stamps it (so a second message, or a second replica, does not fetch it
        again), instead of reading it first and writing it after. A failure only leaves
        the name as it was, and unstamps the identity so a later message tries again: it
        must never hold up a conversation.
        """
        now = self._clock()
        checked = self._profile_checked.get(inbound.customer_ref)
        if checked is not None and now - checked < PROFILE_MAX_AGE:
            return
        self._remember_check(inbound.customer_ref, now)
        statements = self._profile_statements
        async with self._sessions() as session, session.begin():
            claimed = await session.exec(
                statements.claim,
                params={"b_user": inbound.customer_ref, "b_now": now,
                        "b_stale": now - PROFILE_MAX_AGE},
            )  # fmt: skip
            row = claimed.first()
        if row is None:
            return
        identity_id, customer_id = row
        try:
            profile = await self._output.api.get_profile(inbound.customer_ref, _request_timeout=5)
        except (ApiException, TimeoutError, OSError) as exc:
            self._log.warning("line profile not fetched", extra={"error": type(exc).__name__})
            await self._writes.execute(statements.unstamp, {"b_id": identity_id})
            return
        await self._writes.execute(
            statements.name, {"b_id": customer_id, "b_name": profile.display_name}
        )


@dataclass(frozen=True)
class _ProfileStatements:
    """The profile refresh's writes, made once (bound parameters)."""

    claim: Any
    unstamp: Any
    name: Any

    @classmethod
    def build(cls) -> _ProfileStatements:
        identities = table_of(Identity)
        i = identities.c
        customers = table_of(Customer)
        fetched = i.profile_fetched_at
        return cls(
            claim=update(identities)
            .where(i.channel == LINE, i.external_id == bindparam("b_user"))
            .where(or_(fetched.is_(None), fetched < bindparam("b_stale", type_=fetched.type)))
            .values(profile_fetched_at=bindparam("b_now", type_=fetched.type))
            .returning(i.id, i.customer_id),
            unstamp=update(identities)
            .where(i.id == bindparam("b_id"))
            .values(profile_fetched_at=None),
            name=update(customers)
            .where(customers.c.id == bindparam("b_id"))
            .values(display_name=bindparam("b_name", type_=customers.c.display_name.type)),
        )
