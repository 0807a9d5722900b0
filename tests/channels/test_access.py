"""Who may read and write what, and how much: web chat tokens against each other, the admin
token on every admin route, and body limits on every endpoint, with nothing stored from a
refused request. The app has LINE and the Slack desk on (fake platform APIs), so every
route the server can have is here; the walks over `app.router` cannot miss a new one.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import func, select

from bot.models import ChatSession, InboundEvent, Message, ProcessedEvent
from channels.web.socket_auth import CloseCode
from tests.channels.slack_desk import Desk, make_desk
from tests.chat_socket import WS_PATH, authenticated
from tests.conftest import Database
from tests.fakes.clock import ManualClock

ClientMaker = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]
ServerMaker = Callable[[web.Application], Awaitable[TestServer]]
Client = TestClient[Any, Any]
ADMIN = "admin-token-0123456789"
BODY_LIMIT = 2048
WEBHOOK_LIMIT = 8192
# The public widget API; every other route under /api/ is an admin route.
PUBLIC_API = ("/api/chat/", "/api/openapi.json")


@pytest.fixture
async def desk(
    aiohttp_client: ClientMaker, aiohttp_server: ServerMaker, database: Database, faq_dir: Path
) -> AsyncIterator[Desk]:
    desk = await make_desk(
        aiohttp_client, aiohttp_server, database, faq_dir, ManualClock(),
        HELPDESK_ADMIN_TOKEN=ADMIN,
        HELPDESK_MAX_BODY_BYTES=str(BODY_LIMIT),
        HELPDESK_MAX_WEBHOOK_BODY_BYTES=str(WEBHOOK_LIMIT),
    )  # fmt: skip
    yield desk
    await desk.client.close()


def routes(client: Client) -> list[tuple[str, str]]:
    """(method, path) of every route, with a placeholder in any variable part."""
    found = []
    for route in client.app.router.routes():
        assert route.resource is not None
        path = re.sub(r"\{[^}]+\}", "1", route.resource.canonical)
        found.append((route.method, path))
    return found


async def new_chat(client: Client) -> tuple[str, str]:
    r = await client.post("/api/chat/sessions", json={})
    assert r.status == 201
    data = await r.json()
    return data["session_id"], data["token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def texts(client: Client, token: str, after: int | None = None) -> list[str]:
    query = "" if after is None else f"?after={after}"
    r = await client.get(f"/api/chat/messages{query}", headers=bearer(token))
    assert r.status == 200
    return [m["text"] for m in (await r.json())["messages"]]


async def count(desk: Desk, model: Any) -> int:
    async with desk.services.sessions() as s:
        return int((await s.exec(select(func.count()).select_from(model))).one())


# -- web chat tokens ---------------------------------------------------------------------


async def test_tokens_are_long_random_and_not_the_session_id(desk: Desk) -> None:
    chats = [await new_chat(desk.client) for _ in range(8)]
    tokens = [token for _, token in chats]
    assert len(set(tokens)) == len(tokens)
    for session_id, token in chats:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        assert len(raw) >= 16  # at least 128 bits
        assert token != session_id and session_id not in token
    async with desk.services.sessions() as s:
        stored = (await s.exec(select(ChatSession.token_hash))).all()
    assert not set(tokens) & set(stored)  # only hashes are kept


async def test_another_customers_token_gets_nothing_of_theirs(desk: Desk) -> None:
    client = desk.client
    alice_id, alice = await new_chat(client)
    _, bob = await new_chat(client)
    alice_ws = await authenticated(await client.ws_connect(WS_PATH), alice)
    bob_ws = await authenticated(await client.ws_connect(WS_PATH), bob)
    r = await client.post(
        "/api/chat/messages", json={"text": "注文番号 4711 の請求書"}, headers=bearer(alice)
    )
    first_id = (await r.json())["message"]["id"]
    for after in (None, 0, first_id - 1):
        assert await texts(client, bob, after) == []
    r = await client.post("/api/chat/messages", json={"text": "ボブの質問"}, headers=bearer(bob))
    assert r.status == 200
    bobs = await texts(client, bob)
    assert "ボブの質問" in bobs and not any("4711" in t for t in bobs)
    alices = await texts(client, alice)
    assert alices[0] == "注文番号 4711 の請求書" and "ボブの質問" not in alices

    # Once every queued message has gone out, each socket has carried its own
    # conversation's messages and nothing of the other's.
    await desk.settle()
    alice_ids, bob_ids = await history_ids(client, alice), await history_ids(client, bob)
    alice_pushed, bob_pushed = await drain(alice_ws), await drain(bob_ws)
    assert alice_pushed and alice_pushed <= alice_ids and not alice_pushed & bob_ids
    assert bob_pushed and bob_pushed <= bob_ids and not bob_pushed & alice_ids

    # A session id is not a credential.
    assert (await client.get("/api/chat/messages", headers=bearer(alice_id))).status == 401
    r = await client.post("/api/chat/messages", json={"text": "x"}, headers=bearer(alice_id))
    assert r.status == 401
    ws = await client.ws_connect(WS_PATH)
    await ws.send_json({"type": "auth", "token": alice_id})
    closed = await ws.receive(timeout=5)
    assert (closed.data, closed.extra) == (CloseCode.UNAUTHORIZED, "invalid_token")
    await alice_ws.close()
    await bob_ws.close()


async def history_ids(client: Client, token: str) -> set[int]:
    r = await client.get("/api/chat/messages", headers=bearer(token))
    return {m["id"] for m in (await r.json())["messages"]}


async def drain(ws: Any) -> set[int]:
    """Ids of the messages the socket carried before the answer to a ping sent now."""
    await ws.send_json({"type": "ping"})
    ids = set()
    while (frame := await ws.receive_json(timeout=5)) != {"type": "pong"}:
        assert frame["type"] == "message"
        ids.add(frame["message"]["id"])
    return ids


# -- the admin token ---------------------------------------------------------------------


def admin_routes(client: Client) -> list[tuple[str, str]]:
    found = [
        (method, path)
        for method, path in routes(client)
        if path.startswith("/api/") and not path.startswith(PUBLIC_API)
    ]
    # The walk must find the admin API and the reports, or it proves nothing.
    paths = {path for _, path in found}
    assert {"/api/handoffs", "/api/reports/summary", "/api/reports/conversations.csv"} <= paths
    return found


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer admin-token-012345678"},  # one character short
        {"Authorization": f"Bearer {ADMIN}x"},
        {"Authorization": f"Basic {ADMIN}"},
        {"Authorization": ADMIN},
    ],
)
async def test_every_admin_route_needs_the_admin_token(desk: Desk, headers: dict[str, str]) -> None:
    for method, path in admin_routes(desk.client):
        r = await desk.client.request(method, path, headers=headers)
        assert r.status == 401, (method, path)
        if method != "HEAD":
            assert (await r.json()) == {"error": "missing or invalid admin token"}


async def test_every_admin_route_opens_with_the_admin_token(desk: Desk) -> None:
    for method, path in admin_routes(desk.client):
        r = await desk.client.request(method, path, headers=bearer(ADMIN))
        assert r.status == 200, (method, path)


async def test_admin_routes_are_off_without_an_admin_token(
    aiohttp_client: ClientMaker, aiohttp_server: ServerMaker, database: Database, faq_dir: Path
) -> None:
    desk = await make_desk(aiohttp_client, aiohttp_server, database, faq_dir, ManualClock())
    try:
        for method, path in admin_routes(desk.client):
            r = await desk.client.request(method, path, headers=bearer(ADMIN))
            assert r.status == 403, (method, path)
    finally:
        await desk.client.close()


# -- body size ---------------------------------------------------------------------------


def limit_of(path: str) -> int:
    return WEBHOOK_LIMIT if path in ("/webhooks/line", "/slack/events") else BODY_LIMIT


async def stored(desk: Desk) -> tuple[int, ...]:
    models = (ChatSession, Message, InboundEvent, ProcessedEvent)
    return tuple([await count(desk, model) for model in models])


async def test_every_endpoint_refuses_a_body_over_its_limit(desk: Desk) -> None:
    _, token = await new_chat(desk.client)
    before = await stored(desk)
    walked = 0
    for method, path in routes(desk.client):
        if method == "HEAD":
            continue
        body = b"{" + b" " * limit_of(path) + b"}"
        r = await desk.client.request(
            method, path, data=body,
            headers={**bearer(token), "Content-Type": "application/json"},
        )  # fmt: skip
        assert r.status == 413, (method, path)
        error = (await r.json())["error"]
        assert error == f"request body is too large (the limit is {limit_of(path)} bytes)"
        walked += 1
    assert walked >= 15
    assert await stored(desk) == before


async def test_a_chunked_body_is_cut_off_at_the_limit_too(desk: Desk) -> None:
    """No Content-Length to check up front: reading stops at the limit."""
    _, token = await new_chat(desk.client)
    before = await stored(desk)

    async def chunks(size: int) -> AsyncIterator[bytes]:
        yield b'{"text": "'
        for _ in range(size // 1024 + 1):
            yield b"a" * 1024
        yield b'"}'

    for path in ("/api/chat/sessions", "/api/chat/messages", "/webhooks/line", "/slack/events"):
        r = await desk.client.post(
            path, data=chunks(limit_of(path)),
            headers={**bearer(token), "Content-Type": "application/json"},
        )  # fmt: skip
        assert r.status == 413, path
        assert (await r.json())["error"].startswith("request body is too large")
    assert await stored(desk) == before


async def test_webhooks_take_bodies_larger_than_the_chat_api(desk: Desk) -> None:
    # A LINE delivery of a few long messages: above the chat API's limit, within the
    # webhook limit, so it is stored rather than lost.
    events = [desk.line.text("長い質問" * 80) for _ in range(3)]
    size = len(json.dumps({"destination": "Ubot", "events": events}).encode())
    assert BODY_LIMIT < size < WEBHOOK_LIMIT
    r = await desk.line.post(*events)
    assert r.status == 200
    assert await count(desk, InboundEvent) == 3

    reply = desk.reply_event("UAGENT", "とても長い返信" * 150, "1790000000.000100")
    assert BODY_LIMIT < len(desk.event_body(reply)) < WEBHOOK_LIMIT
    r = await desk.event(reply)
    assert r.status == 200  # accepted (no case has this thread, so nothing is relayed)


async def test_oversized_signed_deliveries_store_nothing(desk: Desk) -> None:
    before = await stored(desk)
    events = [desk.line.text("長い質問" * 500) for _ in range(3)]
    r = await desk.line.post(*events)  # correctly signed, just too big
    assert r.status == 413
    assert (await r.json())["error"].startswith("request body is too large")
    reply = desk.reply_event("UAGENT", "長い返信" * 1000, "1790000000.000100")
    r = await desk.event(reply)
    assert r.status == 413
    assert (await r.json())["error"].startswith("request body is too large")
    assert await stored(desk) == before
