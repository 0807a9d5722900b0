"""Admin HTTP API: guarded by the admin token (HELPDESK_ADMIN_TOKEN)."""

from __future__ import annotations

import hmac
import json

from aiohttp import web

from bot.clock import Clock
from bot.db import SessionFactory
from bot.header_values import HeaderNotAscii, bearer_token
from handoff.history import PastCase
from handoff.queue import waiting_cases

INVALID_ADMIN_TOKEN = "missing or invalid admin token"


class AdminGuard:
    """Lets a request through only with `Authorization: Bearer <admin token>`."""

    def __init__(self, admin_token: str | None) -> None:
        self._token = admin_token

    def check(self, request: web.Request) -> None:
        if self._token is None:
            raise json_http(web.HTTPForbidden, "the admin API is off: set HELPDESK_ADMIN_TOKEN")
        try:
            given = bearer_token(request)
        except HeaderNotAscii as exc:
            raise json_http(web.HTTPUnauthorized, f"{INVALID_ADMIN_TOKEN}: {exc}") from None
        # compare_digest: the time taken must not tell how much of a guess was right.
        if given is None or not hmac.compare_digest(given, self._token.encode()):
            raise json_http(web.HTTPUnauthorized, INVALID_ADMIN_TOKEN)


class AdminApi:
    def __init__(self, sessions: SessionFactory, guard: AdminGuard, clock: Clock) -> None:
        self._sessions = sessions
        self._guard = guard
        self._clock = clock

    def register(self, router: web.UrlDispatcher) -> None:
        router.add_get("/api/handoffs", self.handoffs)

    async def handoffs(self, request: web.Request) -> web.Response:
        """The queue of waiting handoffs, oldest first."""
        self._guard.check(request)
        now = self._clock()
        async with self._sessions() as session:
            cases = await waiting_cases(session)
        return web.json_response(
            {
                "handoffs": [
                    {
                        "conversation_id": c.conversation_id,
                        "customer_id": c.customer_id,
                        "channel": c.channel,
                        "locale": c.locale,
                        "reason": c.reason,
                        "requested_at": c.requested_at.isoformat(),
                        "waiting_seconds": round((now - c.requested_at).total_seconds()),
                        "last_customer_text": c.last_customer_text,
                        "follows_up": c.follows_up,
                        "previous_cases": [past_case_json(p) for p in c.earlier_cases],
                    }
                    for c in cases
                ]
            }
        )


def past_case_json(past: PastCase) -> dict[str, object]:
    survey = (
        {"kind": past.survey_kind, "score": past.survey_score}
        if past.survey_kind is not None
        else None
    )
    return {
        "conversation_id": past.conversation_id,
        "channel": past.channel,
        "opened_at": past.opened_at.isoformat(),
        "closed_at": past.closed_at.isoformat() if past.closed_at else None,
        "topic": past.topic,
        "outcome": past.outcome,
        "handed_off": past.handed_off,
        "survey": survey,
    }


def json_http(cls: type[web.HTTPException], reason: str) -> web.HTTPException:
    return cls(text=json.dumps({"error": reason}), content_type="application/json")
