"""The web chat API over real HTTP (aiohttp test client), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.app import SERVICES, create_app
from bot.config import Settings
from bot.texts import DEFAULT_TEXTS
from tests.chat_socket import WS_PATH, authenticated
from tests.conftest import Database
from tests.raw_http import request_bytes, send_raw

ClientMaker = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]
ADMIN = "admin-token-0123456789"


@pytest.fixture
async def client(
    aiohttp_client: ClientMaker, database: Database, faq_dir: Path
) -> AsyncIterator[TestClient[Any, Any]]:
    settings = Settings.from_env(
        {**database.env, "HELPDESK_FAQ_DIR": str(faq_dir), "HELPDESK_ADMIN_TOKEN": ADMIN,
         "HELPDESK_MAX_MESSAGE_CHARS": "500", "HELPDESK_MAX_BODY_BYTES": "4096"}
    )  # fmt: skip
    test_client = await aiohttp_client(create_app(settings))
    yield test_client
    await test_client.close()  # stop the app before its database is dropped


async def new_session(client: TestClient[Any, Any], **body: str) -> tuple[str, dict[str, str]]:
    r = await client.post("/api/chat/sessions", json=body or None)
    assert r.status == 201
    data = await r.json()
    assert data["session_id"] and len(data["token"]) >= 32
    return data["session_id"], {"Authorization": f"Bearer {data['token']}"}


async def test_question_gets_answer_with_buttons(client: TestClient[Any, Any]) -> None:
    _, auth = await new_session(client)
    r = await client.post("/api/chat/messages", json={"text": "パスワード忘れた"}, headers=auth)
    assert r.status == 200
    data = await r.json()
    assert data["message"]["role"] == "customer"
    assert data["message"]["text"] == "パスワード忘れた"
    answer, ask = data["messages"]
    assert answer["role"] == "bot" and "パスワードをお忘れの方" in answer["text"]
    assert ask["buttons"][0] == {
        "label": DEFAULT_TEXTS["ja"]["helpful_yes"],
        "postback": "helpful:yes:password-reset",
    }
    r = await client.post(
        "/api/chat/messages", json={"postback": ask["buttons"][0]["postback"]}, headers=auth
    )
    assert (await r.json())["messages"][0]["text"] == DEFAULT_TEXTS["ja"]["glad_it_helped"]


async def test_history_after_an_id_and_across_conversations(
    client: TestClient[Any, Any],
) -> None:
    _, auth = await new_session(client)
    first = await (
        await client.post("/api/chat/messages", json={"text": "パスワード忘れた"}, headers=auth)
    ).json()
    await client.post("/api/chat/messages", json={"text": "解決しました"}, headers=auth)
    await client.post("/api/chat/messages", json={"text": "料金プラン"}, headers=auth)
    everything = (await (await client.get("/api/chat/messages", headers=auth)).json())["messages"]
    assert [m["role"] for m in everything[:3]] == ["customer", "bot", "bot"]
    assert everything[0]["text"] == "パスワード忘れた"
    ids = [m["id"] for m in everything]
    assert ids == sorted(ids) and len(ids) >= 7
    after = first["messages"][-1]["id"]
    later = (await (await client.get(f"/api/chat/messages?after={after}", headers=auth)).json())[
        "messages"
    ]
    assert [m["id"] for m in later] == [i for i in ids if i > after]
    assert later[0]["text"] == "解決しました"


async def test_a_token_sees_only_its_own_conversation(client: TestClient[Any, Any]) -> None:
    _, alice = await new_session(client)
    _, bob = await new_session(client)
    await client.post("/api/chat/messages", json={"text": "秘密の質問"}, headers=alice)
    bobs = (await (await client.get("/api/chat/messages", headers=bob)).json())["messages"]
    assert bobs == []
    alices = (await (await client.get("/api/chat/messages", headers=alice)).json())["messages"]
    assert alices[0]["text"] == "秘密の質問"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}],
)
async def test_bad_token_is_401(client: TestClient[Any, Any], headers: dict[str, str]) -> None:
    r = await client.post("/api/chat/messages", json={"text": "hi"}, headers=headers)
    assert r.status == 401
    assert (await r.json()) == {"error": "missing or invalid token", "code": "invalid_token"}
    r = await client.get("/api/chat/messages", headers=headers)
    assert r.status == 401


async def test_a_bad_token_is_401_before_the_body_is_judged_and_stores_nothing(
    client: TestClient[Any, Any],
) -> None:
    # the token is checked inside the turn's transaction, after the body is read: a bad
    # body still answers for the token first, and a refused turn leaves no message
    from sqlmodel import select

    from bot.models import Message

    bad = {"Authorization": "Bearer nope"}
    for body in ({"text": "   "}, {"text": "a", "postback": "b"}, {"text": "パスワード忘れた"}):
        r = await client.post("/api/chat/messages", json=body, headers=bad)
        assert r.status == 401
        assert (await r.json())["code"] == "invalid_token"
    async with client.app[SERVICES].sessions() as s:
        assert (await s.exec(select(Message))).all() == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "body is not valid JSON"),
        (b"[1, 2]", "expected a JSON object body"),
        (b"", "expected a JSON object body"),
        (b'{"text": 5}', '"text" must be a non-empty string'),
        (b'{"text": "   "}', '"text" must be a non-empty string'),
        (b'{"text": "a", "postback": "b"}', 'send exactly one of "text" or "postback"'),
        (b"{}", 'send exactly one of "text" or "postback"'),
        # Found by the fuzz run (tests/test_fuzz_api.py): each was a 500.
        (b"[" * 3000, "body is not valid JSON: nested too deeply"),
        (b'{"text": "a\\u0000b"}', "body cannot be stored: text contains a NUL"),
        (b'{"text": "\\ud800"}', "body cannot be stored: text contains a lone surrogate"),
        (b'{"text": NaN}', "body cannot be stored: NaN"),
    ],
)
async def test_malformed_bodies_get_400_with_a_reason(
    client: TestClient[Any, Any], body: bytes, reason: str
) -> None:
    _, auth = await new_session(client)
    r = await client.post(
        "/api/chat/messages", data=body, headers={**auth, "Content-Type": "application/json"}
    )
    assert r.status == 400
    assert (await r.json())["error"].startswith(reason)


async def test_oversized_input_is_refused_and_nothing_is_stored(
    client: TestClient[Any, Any],
) -> None:
    _, auth = await new_session(client)
    r = await client.post("/api/chat/messages", json={"text": "あ" * 501}, headers=auth)
    assert r.status == 413
    assert "longer than 500" in (await r.json())["error"]
    r = await client.post("/api/chat/messages", json={"text": "a" * 5000}, headers=auth)
    assert r.status == 413
    assert (await r.json())["error"].startswith("request body is too large")
    history = (await (await client.get("/api/chat/messages", headers=auth)).json())["messages"]
    assert history == []


async def test_after_past_any_id_is_an_empty_page_not_an_error(
    client: TestClient[Any, Any],
) -> None:
    _, auth = await new_session(client)
    await client.post("/api/chat/messages", json={"text": "料金プラン"}, headers=auth)
    # Past the id column's range: PostgreSQL refused to compare, a 500.
    for after in ("2147483648", "9" * 40):
        r = await client.get(f"/api/chat/messages?after={after}", headers=auth)
        assert r.status == 200 and (await r.json())["messages"] == []
    r = await client.get("/api/chat/messages?after=-5", headers=auth)
    assert len((await r.json())["messages"]) >= 2


@pytest.mark.parametrize("postback", ["survey:0:²", "survey:1:١", "survey:99999999999:1"])
async def test_survey_postbacks_with_odd_numbers_are_not_survey_answers(
    client: TestClient[Any, Any], postback: str
) -> None:
    # str.isdigit() takes "²" (int() does not) and ids past the column's range failed
    # the query: both were 500s.
    _, auth = await new_session(client)
    r = await client.post("/api/chat/messages", json={"postback": postback}, headers=auth)
    assert r.status == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/chat/messages"), ("POST", "/api/chat/link-code"), ("GET", "/api/handoffs"),
     ("GET", "/api/reports/summary")],
)  # fmt: skip
async def test_a_bearer_token_that_is_not_utf8_is_401(
    client: TestClient[Any, Any], method: str, path: str
) -> None:
    # aiohttp hands such header bytes on as surrogate escapes, which could not be
    # encoded to hash or compare the token: a 500 (found by the fuzz run).
    assert client.server.port is not None
    request = request_bytes(method, path, [("Authorization", b"Bearer \xff\xfe\xed\xa0\x80")])
    reply = await send_raw(client.server.port, request)
    assert reply.status == 401 and b'"error"' in reply.body
    if "/ws" not in path:  # the WebSocket takes its token from the query alone
        assert b"the Authorization header is not ASCII" in reply.body


async def test_bad_after_and_bad_locale(client: TestClient[Any, Any]) -> None:
    _, auth = await new_session(client)
    r = await client.get("/api/chat/messages?after=x", headers=auth)
    assert r.status == 400
    r = await client.post("/api/chat/sessions", json={"locale": "fr"})
    assert r.status == 400 and "locale" in (await r.json())["error"]


async def test_explicit_english_session(client: TestClient[Any, Any]) -> None:
    _, auth = await new_session(client, locale="en")
    r = await client.post("/api/chat/messages", json={"text": "オペレーター"}, headers=auth)
    assert (await r.json())["messages"][-1]["text"] == DEFAULT_TEXTS["en"]["handoff_requested"]


async def test_websocket_pushes_new_messages(client: TestClient[Any, Any]) -> None:
    _, auth = await new_session(client)
    token = auth["Authorization"].split()[1]
    ws = await authenticated(await client.ws_connect(WS_PATH), token)
    await ws.send_json({"type": "ping"})
    assert (await ws.receive_json(timeout=5)) == {"type": "pong"}
    r = await client.post("/api/chat/messages", json={"text": "料金プラン"}, headers=auth)
    replies = (await r.json())["messages"]
    pushed = [await ws.receive_json(timeout=5) for _ in replies]
    assert [p["message"]["id"] for p in pushed] == [m["id"] for m in replies]
    assert all(p["type"] == "message" for p in pushed)
    await ws.close()


async def test_websocket_needs_a_valid_token(client: TestClient[Any, Any]) -> None:
    ws = await client.ws_connect(WS_PATH)
    await ws.send_json({"type": "auth", "token": "forged"})
    closed = await ws.receive(timeout=5)
    assert (closed.data, closed.extra) == (4401, "invalid_token")


async def test_handoff_queue_needs_the_admin_token(client: TestClient[Any, Any]) -> None:
    _, auth = await new_session(client)
    await client.post("/api/chat/messages", json={"text": "人と話したい"}, headers=auth)
    assert (await client.get("/api/handoffs")).status == 401
    wrong = {"Authorization": "Bearer admin-token-WRONG-0000"}
    assert (await client.get("/api/handoffs", headers=wrong)).status == 401
    r = await client.get("/api/handoffs", headers={"Authorization": f"Bearer {ADMIN}"})
    assert r.status == 200
    (case,) = (await r.json())["handoffs"]
    assert case["channel"] == "web" and case["reason"] == "customer_request"
    assert case["last_customer_text"] == "人と話したい"


async def test_pages_and_health(client: TestClient[Any, Any]) -> None:
    r = await client.get("/")
    assert r.status == 200 and '<script src="/widget.js"' in await r.text()
    r = await client.get("/widget.js")
    assert r.status == 200 and r.content_type == "application/javascript"
    r = await client.get("/healthz")
    assert (await r.json()) == {"status": "ok"}


async def test_outbox_rows_for_web_are_marked_sent(client: TestClient[Any, Any]) -> None:
    from sqlmodel import select

    from bot.models import Outbox, OutboxStatus

    _, auth = await new_session(client)
    await client.post("/api/chat/messages", json={"text": "料金プラン"}, headers=auth)
    services = client.app[SERVICES]
    for _ in range(50):  # the dispatcher runs in the background; give it a moment
        async with services.sessions() as s:
            rows = (await s.exec(select(Outbox))).all()
        if rows and all(r.status == OutboxStatus.SENT for r in rows):
            break
        await asyncio.sleep(0.05)
    assert rows and all(r.status == OutboxStatus.SENT for r in rows)


IDENTITY_SECRET = "site-identity-secret-0123"


@pytest.fixture
async def vouching_client(
    aiohttp_client: ClientMaker, database: Database, faq_dir: Path
) -> AsyncIterator[TestClient[Any, Any]]:
    settings = Settings.from_env(
        {**database.env, "HELPDESK_FAQ_DIR": str(faq_dir),
         "HELPDESK_IDENTITY_SECRET": IDENTITY_SECRET}
    )  # fmt: skip
    test_client = await aiohttp_client(create_app(settings))
    yield test_client
    await test_client.close()


async def test_a_vouched_user_is_one_customer_on_every_device(
    vouching_client: TestClient[Any, Any],
) -> None:
    from channels.web.sessions import identity_hash

    signed = {"external_id": "user-42", "identity_hash": identity_hash(IDENTITY_SECRET, "user-42")}
    _, laptop = await new_session(vouching_client, **signed)
    await vouching_client.post("/api/chat/messages", json={"text": "料金プラン"}, headers=laptop)
    _, phone = await new_session(vouching_client, **signed)
    history = (await (await vouching_client.get("/api/chat/messages", headers=phone)).json())[
        "messages"
    ]
    assert history[0]["text"] == "料金プラン"  # the phone sees the laptop's conversation
    _, stranger = await new_session(vouching_client)
    assert (await (await vouching_client.get("/api/chat/messages", headers=stranger)).json())[
        "messages"
    ] == []


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ({"external_id": "user-42"}, 401, "identity_hash does not match"),
        ({"external_id": "user-42", "identity_hash": "00" * 32}, 401, "identity_hash does not"),
        ({"external_id": "", "identity_hash": "x"}, 400, '"external_id" must be a string'),
        # compare_digest raised on a non-ASCII str: a 500.
        ({"external_id": "user-42", "identity_hash": "é" * 64}, 401, "identity_hash does not"),
    ],
)
async def test_unsigned_or_wrongly_signed_identity_is_refused(
    vouching_client: TestClient[Any, Any], body: dict[str, str], status: int, reason: str
) -> None:
    r = await vouching_client.post("/api/chat/sessions", json=body)
    assert r.status == status and (await r.json())["error"].startswith(reason)


async def test_external_id_is_refused_when_verification_is_off(
    client: TestClient[Any, Any],
) -> None:
    r = await client.post("/api/chat/sessions", json={"external_id": "u", "identity_hash": "x"})
    assert r.status == 400 and "identity verification is off" in (await r.json())["error"]


async def test_link_code_needs_a_session_and_is_formatted(client: TestClient[Any, Any]) -> None:
    assert (await client.post("/api/chat/link-code")).status == 401
    _, auth = await new_session(client)
    r = await client.post("/api/chat/link-code", headers=auth)
    assert r.status == 201
    data = await r.json()
    assert len(data["code"]) == 9 and data["code"][4] == "-"
    assert (await (await client.get("/api/chat/config")).json()) == {"line_url": None}
