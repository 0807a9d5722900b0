"""Limits on the widget API over real HTTP: rate limits (429 + Retry-After) on the injected
clock, WebSockets per session and their message size, and CORS for configured origins.

These limits act before the database is touched, so one database (SQLite) is enough
here; what must not be stored is checked on both in test_access.py.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient

from bot.app import SERVICES, create_app
from bot.config import Settings
from tests.chat_socket import WS_PATH, authenticated
from tests.fakes.clock import ManualClock
from tests.raw_http import request_bytes, send_raw

ClientMaker = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]
Client = TestClient[Any, Any]
ADMIN = "admin-token-0123456789"
SHOP = "https://shop.example.com"
# Every limit off: each test turns on the one it is about.
NO_LIMITS = {
    "HELPDESK_RATE_LIMIT_SESSION_PER_MINUTE": "0",
    "HELPDESK_RATE_LIMIT_ADDRESS_PER_MINUTE": "0",
    "HELPDESK_RATE_LIMIT_NEW_SESSIONS_PER_MINUTE": "0",
}

MakeApp = Callable[..., Awaitable[Client]]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def make_app(
    aiohttp_client: ClientMaker, tmp_path: Path, faq_dir: Path, clock: ManualClock
) -> AsyncIterator[MakeApp]:
    clients: list[Client] = []

    async def make(**env: str) -> Client:
        settings = Settings.from_env(
            {"HELPDESK_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'hd.db'}",
             "HELPDESK_FAQ_DIR": str(faq_dir), "HELPDESK_ADMIN_TOKEN": ADMIN,
             **NO_LIMITS, **env}
        )  # fmt: skip
        client = await aiohttp_client(create_app(settings, clock=clock))
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@dataclass(frozen=True)
class Chat:
    session_id: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def socket(self, client: Client) -> aiohttp.ClientWebSocketResponse:
        return await authenticated(await client.ws_connect(WS_PATH), self.token)

    async def refused_socket(self, client: Client) -> aiohttp.WSMessage:
        """The close a new socket of this session gets after its auth frame."""
        ws = await client.ws_connect(WS_PATH)
        await ws.send_json({"type": "auth", "token": self.token})
        closed = await ws.receive(timeout=5)
        assert closed.type == WSMsgType.CLOSE, closed
        return closed


async def new_session(client: Client, **headers: str) -> Chat:
    r = await client.post("/api/chat/sessions", json={}, headers=headers)
    assert r.status == 201, await r.text()
    data = await r.json()
    return Chat(data["session_id"], data["token"])


async def history(client: Client, auth: dict[str, str]) -> list[str]:
    r = await client.get("/api/chat/messages", headers=auth)
    assert r.status == 200
    return [m["text"] for m in (await r.json())["messages"]]


async def assert_limited(response: aiohttp.ClientResponse, retry_after: int, what: str) -> None:
    assert response.status == 429
    assert response.headers["Retry-After"] == str(retry_after)
    error = (await response.json())["error"]
    assert error == f"too many {what}; try again in {retry_after} s"


# -- rate limits -------------------------------------------------------------------------


async def test_a_session_may_post_n_messages_a_minute(
    make_app: MakeApp, clock: ManualClock
) -> None:
    client = await make_app(HELPDESK_RATE_LIMIT_SESSION_PER_MINUTE="3")
    alice = (await new_session(client)).auth
    for n in range(3):
        r = await client.post("/api/chat/messages", json={"text": f"質問{n}"}, headers=alice)
        assert r.status == 200
    r = await client.post("/api/chat/messages", json={"text": "four"}, headers=alice)
    await assert_limited(r, 20, "messages in this chat session")  # 3 a minute: one per 20 s
    assert "four" not in await history(client, alice)  # reading is not limited per session
    bob = (await new_session(client)).auth  # another session has its own allowance
    assert (await client.post("/api/chat/messages", json={"text": "hi"}, headers=bob)).status == 200
    clock.advance(seconds=19)
    r = await client.post("/api/chat/messages", json={"text": "five"}, headers=alice)
    await assert_limited(r, 1, "messages in this chat session")
    clock.advance(seconds=1)
    r = await client.post("/api/chat/messages", json={"text": "six"}, headers=alice)
    assert r.status == 200
    assert "six" in await history(client, alice)


async def test_an_address_may_make_n_widget_requests_a_minute(
    make_app: MakeApp, clock: ManualClock
) -> None:
    client = await make_app(HELPDESK_RATE_LIMIT_ADDRESS_PER_MINUTE="4")
    chat = await new_session(client)  # 1
    assert (await client.get("/api/chat/config")).status == 200  # 2
    assert (await client.get("/api/chat/messages", headers=chat.auth)).status == 200  # 3
    assert (await client.post("/api/chat/link-code", headers=chat.auth)).status == 201  # 4
    await assert_limited(await client.get("/api/chat/config"), 15, "requests from your address")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect(WS_PATH)
    assert refused.value.status == 429
    # Outside the widget API nothing is limited per address.
    assert (await client.get("/healthz")).status == 200
    admin = {"Authorization": f"Bearer {ADMIN}"}
    assert (await client.get("/api/handoffs", headers=admin)).status == 200
    clock.advance(seconds=15)
    assert (await client.get("/api/chat/config")).status == 200


async def test_new_sessions_are_limited_per_address(make_app: MakeApp) -> None:
    client = await make_app(HELPDESK_RATE_LIMIT_NEW_SESSIONS_PER_MINUTE="2")
    await new_session(client)
    await new_session(client)
    r = await client.post("/api/chat/sessions", json={})
    await assert_limited(r, 30, "new chat sessions from your address")


async def test_forwarded_for_is_used_only_behind_a_trusted_proxy(make_app: MakeApp) -> None:
    direct = await make_app(HELPDESK_RATE_LIMIT_NEW_SESSIONS_PER_MINUTE="1")
    await new_session(direct, **{"X-Forwarded-For": "203.0.113.5"})
    # Untrusted, the header changes nothing: every request here comes from 127.0.0.1.
    r = await direct.post("/api/chat/sessions", headers={"X-Forwarded-For": "203.0.113.6"})
    assert r.status == 429

    proxied = await make_app(
        HELPDESK_RATE_LIMIT_NEW_SESSIONS_PER_MINUTE="1", HELPDESK_TRUST_FORWARDED_FOR="true"
    )
    await new_session(proxied, **{"X-Forwarded-For": "203.0.113.5"})
    await new_session(proxied, **{"X-Forwarded-For": "203.0.113.6"})
    # A client cannot dodge its limit by writing its own entry in front of the proxy's.
    r = await proxied.post(
        "/api/chat/sessions", headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.5"}
    )
    assert r.status == 429


async def test_a_limit_of_zero_is_off(make_app: MakeApp) -> None:
    client = await make_app()  # NO_LIMITS
    auth = (await new_session(client)).auth
    for _ in range(25):
        r = await client.post("/api/chat/messages", json={"text": "hello"}, headers=auth)
        assert r.status == 200


# -- WebSockets --------------------------------------------------------------------------


async def test_websockets_per_session_are_capped(make_app: MakeApp) -> None:
    client = await make_app(HELPDESK_MAX_WEBSOCKETS_PER_SESSION="2")
    chat = await new_session(client)
    first = await chat.socket(client)
    second = await chat.socket(client)
    # The session is known only from the first frame, after the handshake: the socket
    # over the cap is closed then.
    refused = await chat.refused_socket(client)
    assert (refused.data, refused.extra) == (1008, "too_many_websockets")
    other = await new_session(client)  # the cap is per session
    third_party = await other.socket(client)
    await first.close()
    await _until_connected(client, chat.session_id, 1)
    again = await chat.socket(client)
    await again.send_json({"type": "ping"})
    assert await again.receive_json(timeout=5) == {"type": "pong"}
    for ws in (second, third_party, again):
        await ws.close()


async def test_simultaneous_handshakes_cannot_exceed_the_cap(make_app: MakeApp) -> None:
    client = await make_app(HELPDESK_MAX_WEBSOCKETS_PER_SESSION="2")
    chat = await new_session(client)
    sockets = await asyncio.gather(*(client.ws_connect(WS_PATH) for _ in range(4)))
    await asyncio.gather(*(ws.send_json({"type": "auth", "token": chat.token}) for ws in sockets))
    kept = []
    for ws in sockets:
        # Those that lost the race for the last places are closed as a policy violation.
        msg = await ws.receive(timeout=5)
        if msg.type == WSMsgType.TEXT:
            assert msg.json() == {"type": "ready"}
            kept.append(ws)
        else:
            assert msg.type == WSMsgType.CLOSE and msg.data == 1008
    assert len(kept) == 2
    assert client.app[SERVICES].hub.connected(chat.session_id) == 2
    for ws in sockets:
        await ws.close()


async def test_an_oversized_websocket_message_closes_the_socket(make_app: MakeApp) -> None:
    client = await make_app()
    chat = await new_session(client)
    ws = await chat.socket(client)
    await ws.send_str('{"type": "ping", "pad": "' + "x" * 2000 + '"}')
    msg = await ws.receive(timeout=5)
    assert msg.type == WSMsgType.CLOSE and msg.data == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
    await _until_connected(client, chat.session_id, 0)


async def _until_connected(client: Client, session_id: str, count: int) -> None:
    """The server notices a closed socket a moment after the client closes it."""
    hub = client.app[SERVICES].hub
    async with asyncio.timeout(5):
        while True:
            if hub.connected(session_id) == count:
                return
            await asyncio.sleep(0.01)


# -- CORS --------------------------------------------------------------------------------


def preflight_headers(origin: str, headers: str = "authorization, content-type") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": headers,
    }


async def test_preflight_is_answered_for_configured_origins_only(make_app: MakeApp) -> None:
    client = await make_app(HELPDESK_CORS_ORIGINS=f"{SHOP}, https://www.example.com")
    r = await client.options("/api/chat/messages", headers=preflight_headers(SHOP))
    assert r.status == 204
    assert r.headers["Access-Control-Allow-Origin"] == SHOP
    assert {"GET", "POST"} <= {
        m.strip() for m in r.headers["Access-Control-Allow-Methods"].split(",")
    }
    allowed = {h.strip() for h in r.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed
    assert "Origin" in r.headers["Vary"] and int(r.headers["Access-Control-Max-Age"]) > 0
    assert "Access-Control-Allow-Credentials" not in r.headers

    for origin in ("https://evil.example.com", "https://shop.example.com.evil.net", "null"):
        r = await client.options("/api/chat/messages", headers=preflight_headers(origin))
        assert r.status == 403
        assert "Access-Control-Allow-Origin" not in r.headers
        assert (await r.json())["error"] == "this origin may not use the chat API"

    r = await client.options("/api/chat/messages", headers=preflight_headers(SHOP, "x-admin"))
    assert r.status == 403 and "Access-Control-Allow-Origin" not in r.headers


async def test_a_preflight_asking_for_headers_that_are_not_ascii_is_refused_with_a_reason(
    make_app: MakeApp,
) -> None:
    # The refused names were echoed into the error, surrogate escapes and all.
    client = await make_app(HELPDESK_CORS_ORIGINS=SHOP)
    assert client.server.port is not None
    headers = [
        ("Origin", SHOP.encode()),
        ("Access-Control-Request-Method", b"POST"),
        ("Access-Control-Request-Headers", b"authorization, x-\xff\xfe"),
    ]
    reply = await send_raw(
        client.server.port, request_bytes("OPTIONS", "/api/chat/messages", headers)
    )
    assert reply.status == 403
    assert json.loads(reply.body) == {
        "error": "the Access-Control-Request-Headers header is not ASCII"
    }


async def test_answers_carry_the_origin_only_when_it_is_configured(make_app: MakeApp) -> None:
    client = await make_app(
        HELPDESK_CORS_ORIGINS=SHOP, HELPDESK_RATE_LIMIT_NEW_SESSIONS_PER_MINUTE="1"
    )
    r = await client.post("/api/chat/sessions", json={}, headers={"Origin": SHOP})
    assert r.status == 201
    assert r.headers["Access-Control-Allow-Origin"] == SHOP
    assert r.headers["Access-Control-Expose-Headers"] == "Retry-After"
    assert "Origin" in r.headers["Vary"]
    # Errors too, so the widget can tell a 429 or a 401 from a network failure.
    r = await client.post("/api/chat/sessions", json={}, headers={"Origin": SHOP})
    assert r.status == 429 and r.headers["Access-Control-Allow-Origin"] == SHOP
    r = await client.get("/api/chat/messages", headers={"Origin": SHOP})
    assert r.status == 401 and r.headers["Access-Control-Allow-Origin"] == SHOP

    r = await client.get("/api/chat/config", headers={"Origin": "https://evil.example.com"})
    assert r.status == 200  # answered; the browser keeps the other page from reading it
    assert "Access-Control-Allow-Origin" not in r.headers and "Origin" in r.headers["Vary"]


async def test_without_configured_origins_the_widget_api_is_same_origin_only(
    make_app: MakeApp,
) -> None:
    client = await make_app()
    r = await client.options("/api/chat/sessions", headers=preflight_headers(SHOP))
    assert r.status == 403 and "Access-Control-Allow-Origin" not in r.headers
    r = await client.post("/api/chat/sessions", json={}, headers={"Origin": SHOP})
    assert r.status == 201 and "Access-Control-Allow-Origin" not in r.headers


async def test_admin_and_report_apis_never_get_cors_headers(make_app: MakeApp) -> None:
    client = await make_app(HELPDESK_CORS_ORIGINS=SHOP)
    admin = {"Authorization": f"Bearer {ADMIN}", "Origin": SHOP}
    paths = [
        str(route.resource.canonical)
        for route in client.app.router.routes()
        if route.resource is not None
        and route.method == "GET"
        and not str(route.resource.canonical).startswith("/api/chat/")
    ]
    assert {"/api/handoffs", "/api/reports/summary", "/dashboard", "/"} <= set(paths)
    for path in paths:
        r = await client.get(path, headers=admin)
        assert r.status == 200, path
        assert not [h for h in r.headers if h.lower().startswith("access-control-")], path
        r = await client.options(path, headers=preflight_headers(SHOP))
        assert "Access-Control-Allow-Origin" not in r.headers, path
