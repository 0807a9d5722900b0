"""The web chat JSON API, its WebSocket, and the widget's static files.

POST /api/chat/sessions        -> 201 {"session_id", "token"}
POST /api/chat/messages        {"text"} | {"postback"} -> {"message", "messages"}
GET  /api/chat/messages?after= -> {"messages"}
GET  /api/chat/ws               WebSocket: first frame {"type": "auth", "token"}, then
                               {"type": "message", "message"} pushes (channels.web.socket_auth)
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from datetime import timedelta
from importlib.resources import files
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import Clock
from bot.db import SessionFactory
from bot.db_outage import describe, is_database_unavailable
from bot.engine import Engine
from bot.header_values import HeaderNotAscii, bearer_token
from bot.linking import issue_code
from bot.messages import Inbound
from bot.models import Identity
from bot.row_ids import MAX_ROW_ID
from bot.storable import unstorable
from bot.store import get_or_create_identity, messages_for_customer, to_outbound
from channels.web.expiry import SessionLifetime
from channels.web.hub import LiveHub
from channels.web.serialize import message_json
from channels.web.sessions import (
    WEB,
    WEB_USER,
    Refusal,
    WebSession,
    authenticate,
    create_session,
    verify_identity_hash,
)
from channels.web.socket_auth import READY, SocketRefusal, authenticate_socket

HISTORY_PAGE = 500
WIDGET_API_PREFIX = "/api/chat/"
NEW_SESSION_PATH = "/api/chat/sessions"
WS_PATH = "/api/chat/ws"
# The widget only ever sends its auth frame and {"type": "ping"}; anything much bigger
# is not ours.
WS_MAX_MESSAGE_BYTES = 1024
SUPPORTED_LOCALES = ("ja", "en")


def json_error(status: int, reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=status)


# What a 401 says; its "code" (the Refusal) is what clients act on.
REFUSAL_TEXTS = {
    Refusal.INVALID: "missing or invalid token",
    Refusal.EXPIRED: "chat session expired; start a new one",
}
# Old widgets put the token in the WebSocket's URL; it is not looked at.
TOKEN_IN_URL = "token_in_url"


@dataclass(frozen=True)
class WebChatOptions:
    max_message_chars: int
    # Secret a site uses to sign its user ids (identity_hash); None: external ids refused.
    identity_secret: str | None = None
    link_code_ttl: timedelta = timedelta(minutes=10)
    # Where "continue on LINE" sends the customer (the account's add-friend URL).
    line_url: str | None = None
    # Open WebSockets per chat session (tabs of one visitor); more are refused.
    max_websockets: int = 5
    session_lifetime: SessionLifetime = field(default_factory=SessionLifetime)
    # How long a new WebSocket has to send its auth frame.
    websocket_auth_seconds: float = 10.0


class WebChatApi:
    def __init__(
        self,
        engine: Engine,
        sessions: SessionFactory,
        hub: LiveHub,
        clock: Clock,
        options: WebChatOptions,
        logger: logging.Logger,
    ) -> None:
        self._engine = engine
        self._sessions = sessions
        self._hub = hub
        self._clock = clock
        self._options = options
        self._max_chars = options.max_message_chars
        self._log = logger
        static = files("channels.web").joinpath("static")
        self._index = static.joinpath("index.html").read_bytes
        self._widget = static.joinpath("widget.js").read_bytes

    def register(self, router: web.UrlDispatcher) -> None:
        router.add_post(NEW_SESSION_PATH, self.create_session)
        router.add_post("/api/chat/messages", self.post_message)
        router.add_get("/api/chat/messages", self.get_messages)
        router.add_get(WS_PATH, self.websocket)
        router.add_post("/api/chat/link-code", self.link_code)
        router.add_get("/api/chat/config", self.config)
        router.add_get("/", self.index)
        router.add_get("/widget.js", self.widget)

    async def index(self, request: web.Request) -> web.Response:
        return web.Response(body=self._index(), content_type="text/html", charset="utf-8")

    async def widget(self, request: web.Request) -> web.Response:
        return web.Response(
            body=self._widget(), content_type="application/javascript", charset="utf-8"
        )

    async def create_session(self, request: web.Request) -> web.Response:
        body = await _json_body(request, required=False)
        locale = body.get("locale")
        if locale is not None and locale not in SUPPORTED_LOCALES:
            return json_error(400, f"locale must be one of {', '.join(SUPPORTED_LOCALES)}")
        external_id = body.get("external_id")
        if external_id is not None:
            problem = self._check_identity(external_id, body.get("identity_hash"))
            if problem is not None:
                return problem
        async with self._sessions() as session, session.begin():
            now = self._clock()
            customer_id = None
            if external_id is not None:
                known = await get_or_create_identity(session, WEB_USER, external_id, now)
                customer_id = known.customer_id
            chat, token = await create_session(
                session, now, locale, customer_id, lifetime=self._options.session_lifetime
            )
        self._log.info("web session created", extra={"session": chat.session_id})
        return web.json_response({"session_id": chat.session_id, "token": token}, status=201)

    def _check_identity(self, external_id: object, given: object) -> web.Response | None:
        """None when the site's signature over `external_id` is right, else the error."""
        if not isinstance(external_id, str) or not 0 < len(external_id) <= 200:
            return json_error(400, '"external_id" must be a string of 1 to 200 characters')
        secret = self._options.identity_secret
        if secret is None:
            return json_error(400, "external_id is not accepted: identity verification is off")
        if not isinstance(given, str) or not verify_identity_hash(secret, external_id, given):
            return json_error(401, "identity_hash does not match external_id")
        return None

    async def link_code(self, request: web.Request) -> web.Response:
        """A one-time code that, sent from another channel, joins it to this customer."""
        chat = await self._authenticate(request, _bearer(request))
        async with self._sessions() as session, session.begin():
            identity = await session.get(Identity, chat.identity_id)
            assert identity is not None
            code, expires_at = await issue_code(
                session, identity, self._clock(), self._options.link_code_ttl
            )
        return web.json_response(
            {
                "code": code,
                "expires_at": expires_at.isoformat(),
                "line_url": self._options.line_url,
            },
            status=201,
        )

    async def config(self, request: web.Request) -> web.Response:
        """What the widget may offer: "continue on LINE" when a LINE account is set."""
        return web.json_response({"line_url": self._options.line_url})

    async def post_message(self, request: web.Request) -> web.Response:
        token = _bearer(request)
        try:
            text, postback = await self._message_body(request)
        except web.HTTPException:
            # A refused token is answered 401 before anything is said of the body.
            await self._authenticate(request, token)
            raise
        # The token is checked in the turn's own transaction (one a message, not two).
        gate = _TokenGate(token, self._clock, self._options.session_lifetime)
        result = await self._engine.handle(
            Inbound(
                channel=WEB,
                customer_ref="",  # the gate's: the session's id
                received_at=self._clock(),
                text=text.strip() if text else None,
                postback=postback,
            ),
            gate=gate,
        )
        assert result.customer_message is not None
        return web.json_response(
            {
                "message": message_json(result.customer_message),
                "messages": [message_json(m) for m in result.replies],
            }
        )

    async def _message_body(self, request: web.Request) -> tuple[str | None, str | None]:
        """The text and postback of a message request; raises the 4xx when the body is no
        JSON object or has neither, both, or one that is empty or too long."""
        body = await _json_body(request, required=True)
        text, postback = body.get("text"), body.get("postback")
        if (text is None) == (postback is None):
            raise _bad_request('send exactly one of "text" or "postback"')
        for name, value in (("text", text), ("postback", postback)):
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise _bad_request(f'"{name}" must be a non-empty string')
        if text is not None and len(text) > self._max_chars:
            raise _too_large(f"text is longer than {self._max_chars} characters")
        if postback is not None and len(postback) > 300:
            raise _too_large("postback is longer than 300 characters")
        return text, postback

    async def get_messages(self, request: web.Request) -> web.Response:
        chat = await self._authenticate(request, _bearer(request))
        after_raw = request.query.get("after")
        after: int | None = None
        if after_raw is not None:
            try:
                # Clamped to the id column's range: past it there is simply nothing.
                after = min(max(int(after_raw), 0), MAX_ROW_ID)
            except ValueError:
                return json_error(400, '"after" must be a message id (a whole number)')
        async with self._sessions() as session:
            rows = await messages_for_customer(session, chat.customer_id, WEB, after, HISTORY_PAGE)
        return web.json_response({"messages": [message_json(to_outbound(m)) for m in rows]})

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        if "token" in request.query:
            # Refused before the upgrade, so an old widget backs off instead of
            # reconnecting at once, and a reload brings it the new widget.js.
            self._log.info("websocket with a token in its URL refused")
            return web.json_response(
                {
                    "error": 'send the token in the first frame {"type": "auth", "token"}, '
                    "not in the URL",
                    "code": TOKEN_IN_URL,
                },
                status=400,
            )
        ws = web.WebSocketResponse(heartbeat=30, max_msg_size=WS_MAX_MESSAGE_BYTES)
        await ws.prepare(request)
        try:
            found = await authenticate_socket(
                ws, self._options.websocket_auth_seconds, self._check_token
            )
        except Exception as exc:
            # Past the upgrade a 503 can no longer be sent; 1013 says the same.
            if not is_database_unavailable(exc):
                raise
            self._log.warning(
                "database unavailable; websocket closed", extra={"error": describe(exc)}
            )
            await ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"database_unavailable")
            return ws
        if isinstance(found, SocketRefusal):
            self._log.info("websocket refused", extra={"reason": found.reason})
        if not isinstance(found, WebSession):
            return ws
        chat = found
        # The handshake is over before the session is known, so the cap is enforced here.
        limit = self._options.max_websockets
        if not self._hub.try_add(chat.session_id, ws, limit):
            await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"too_many_websockets")
            return ws
        try:
            await ws.send_json(READY)
            async for msg in ws:
                if msg.type == WSMsgType.TEXT and _is_ping(msg.data):
                    await ws.send_json({"type": "pong"})
        finally:
            self._hub.remove(chat.session_id, ws)
        return ws

    async def _authenticate(self, request: web.Request, token: str) -> WebSession:
        found = await self._check_token(token)
        if isinstance(found, Refusal):
            raise _unauthorized(found)
        return found

    async def _check_token(self, token: str) -> WebSession | Refusal:
        """The token's session, its expiry moved forward; or why the token is refused."""
        async with self._sessions() as session, session.begin():
            return await authenticate(
                session, token, self._clock(), self._options.session_lifetime
            )


class _TokenGate:
    """Admits a web chat message in its turn's transaction: the bearer token's session
    (its expiry moved forward) is whose message it is; a refused token is a 401."""

    def __init__(self, token: str, clock: Clock, lifetime: SessionLifetime) -> None:
        self._token = token
        self._clock = clock
        self._lifetime = lifetime

    async def admit(self, session: AsyncSession, inbound: Inbound) -> Inbound:
        found = await authenticate(session, self._token, self._clock(), self._lifetime)
        if isinstance(found, Refusal):
            raise _unauthorized(found)
        return replace(inbound, customer_ref=found.session_id, locale=found.locale)


def _bearer(request: web.Request) -> str:
    """The chat token of `Authorization: Bearer`, "" without one; a 401 saying why when
    the header is not ASCII."""
    try:
        token = bearer_token(request)
    except HeaderNotAscii as exc:
        raise _unauthorized(Refusal.INVALID, str(exc)) from None
    return token.decode("ascii") if token is not None else ""


def _unauthorized(refusal: Refusal, detail: str = "") -> web.HTTPUnauthorized:
    """A 401 naming why; its code tells the widget whether to start a new session."""
    reason = f"{REFUSAL_TEXTS[refusal]}: {detail}" if detail else REFUSAL_TEXTS[refusal]
    body = {"error": reason, "code": refusal.value}
    return web.HTTPUnauthorized(text=json.dumps(body), content_type="application/json")


def _is_ping(data: str) -> bool:
    try:
        return bool(json.loads(data).get("type") == "ping")
    except (ValueError, AttributeError):
        return False


async def _json_body(request: web.Request, *, required: bool) -> dict[str, Any]:
    """The request's JSON object; 400 with a reason when it is not one, 413 when too big."""
    raw = await request.read()  # raises 413 past the app's client_max_size
    if not raw.strip():
        if required:
            raise _bad_request("expected a JSON object body")
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _bad_request(f"body is not valid JSON: {exc}") from None
    except RecursionError:
        raise _bad_request("body is not valid JSON: nested too deeply") from None
    if not isinstance(body, dict):
        raise _bad_request("expected a JSON object body")
    problem = unstorable(body)
    if problem is not None:
        raise _bad_request(f"body cannot be stored: {problem}")
    return body


def _bad_request(reason: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": reason}), content_type="application/json")


class _TooLarge(web.HTTPClientError):
    # aiohttp's HTTPRequestEntityTooLarge writes its own text about byte sizes
    status_code = 413


def _too_large(reason: str) -> web.HTTPClientError:
    return _TooLarge(text=json.dumps({"error": reason}), content_type="application/json")
