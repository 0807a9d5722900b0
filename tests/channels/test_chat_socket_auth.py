"""The chat WebSocket takes its token in the first frame, never in the URL: a good frame
gets {"type": "ready"} and the session's pushes; a wrong, malformed, missing or late one
closes the socket with a 44xx code and a reason; a token in the URL is refused before
the upgrade. And no token reaches a log line, aiohttp's access log included."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient

from bot.app import SERVICES, create_app
from bot.config import Settings
from bot.logs import JsonFormatter
from channels.web.socket_auth import CloseCode
from tests.chat_socket import WS_PATH, authenticated
from tests.conftest import Database
from tests.fakes.clock import ManualClock

ClientMaker = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]
Client = TestClient[Any, Any]
# Short, so that the timeout tests wait a moment; they only ever wait for the server.
AUTH_SECONDS = 0.3
# How long a test waits for the server's close at most: a bound against a hang only.
PATIENCE_SECONDS = 30


@pytest.fixture
async def client(
    aiohttp_client: ClientMaker, database: Database, faq_dir: Path
) -> AsyncIterator[Client]:
    settings = Settings.from_env(
        {**database.env, "HELPDESK_FAQ_DIR": str(faq_dir),
         "HELPDESK_WEBSOCKET_AUTH_SECONDS": str(AUTH_SECONDS)}
    )  # fmt: skip
    test_client = await aiohttp_client(create_app(settings, clock=ManualClock()))
    yield test_client
    await test_client.close()


async def new_session(client: Client) -> tuple[str, str]:
    r = await client.post("/api/chat/sessions", json={})
    assert r.status == 201
    data = await r.json()
    return data["session_id"], data["token"]


async def closed_after(ws: aiohttp.ClientWebSocketResponse) -> tuple[int, str]:
    """The close code and reason the server ends `ws` with (anything else on the way fails)."""
    message = await ws.receive(timeout=PATIENCE_SECONDS)
    assert message.type == WSMsgType.CLOSE, (message.type, message.data)
    return message.data, message.extra


async def test_a_good_first_frame_gets_ready_and_the_sessions_pushes(client: Client) -> None:
    session_id, token = await new_session(client)
    ws = await client.ws_connect(WS_PATH)
    hub = client.app[SERVICES].hub
    assert hub.connected(session_id) == 0  # nothing reaches a socket before its auth frame
    await ws.send_json({"type": "auth", "token": token})
    assert await ws.receive_json(timeout=5) == {"type": "ready"}
    assert hub.connected(session_id) == 1
    auth = {"Authorization": f"Bearer {token}"}
    r = await client.post("/api/chat/messages", json={"text": "料金プラン"}, headers=auth)
    replies = (await r.json())["messages"]
    pushed = [(await ws.receive_json(timeout=5))["message"]["id"] for _ in replies]
    assert pushed == [m["id"] for m in replies]
    await ws.send_json({"type": "ping"})
    assert await ws.receive_json(timeout=5) == {"type": "pong"}
    await ws.close()


@pytest.mark.parametrize(
    "token",
    ["forged-token-" + "x" * 30, "", "トークン", "\ud800"],
    ids=["unknown", "empty", "not-ascii", "lone-surrogate"],
)
async def test_a_wrong_token_closes_with_4401_invalid_token(client: Client, token: str) -> None:
    await new_session(client)
    ws = await client.ws_connect(WS_PATH)
    if token == "\ud800":  # not even UTF-8 as JSON text: sent escaped, as JSON allows
        await ws.send_str('{"type": "auth", "token": "\\ud800"}')
    else:
        await ws.send_json({"type": "auth", "token": token})
    assert await closed_after(ws) == (CloseCode.UNAUTHORIZED, "invalid_token")


@pytest.mark.parametrize(
    "frame",
    [
        '{"type": "ping"}',
        "not json",
        "[1, 2]",
        '{"type": "auth"}',
        '{"type": "auth", "token": 42}',
        '{"token": "abc"}',
        b"\x00\x01",
    ],
    ids=["ping", "not-json", "array", "no-token", "number-token", "no-type", "binary"],
)
async def test_a_first_frame_that_is_not_an_auth_frame_closes_with_4400(
    client: Client, frame: str | bytes
) -> None:
    _, token = await new_session(client)
    ws = await client.ws_connect(WS_PATH)
    if isinstance(frame, bytes):
        await ws.send_bytes(frame)
    else:
        await ws.send_str(frame)
    assert await closed_after(ws) == (CloseCode.AUTH_REQUIRED, "auth_required")
    # The right token afterwards is too late: the socket is gone.
    again = await authenticated(await client.ws_connect(WS_PATH), token)
    await again.close()


async def test_a_socket_that_sends_nothing_is_closed_with_4408(client: Client) -> None:
    ws = await client.ws_connect(WS_PATH)
    assert await closed_after(ws) == (CloseCode.AUTH_TIMEOUT, "auth_timeout")


async def test_pings_do_not_stretch_the_auth_deadline(client: Client) -> None:
    """Control-frame pings are answered while the server waits, but the wait is one
    deadline: a client that keeps pinging without authenticating is still closed."""
    ws = await client.ws_connect(WS_PATH, autoping=False)

    async def keep_pinging() -> None:
        while True:
            await ws.ping()
            await asyncio.sleep(AUTH_SECONDS / 10)

    pinger = asyncio.create_task(keep_pinging())
    try:
        async with asyncio.timeout(PATIENCE_SECONDS):
            while True:
                message = await ws.receive()
                if message.type != WSMsgType.PONG:
                    break
    finally:
        pinger.cancel()
    assert message.type == WSMsgType.CLOSE
    assert (message.data, message.extra) == (CloseCode.AUTH_TIMEOUT, "auth_timeout")


async def test_a_token_in_the_url_is_refused_before_the_upgrade(client: Client) -> None:
    _, token = await new_session(client)
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect(f"{WS_PATH}?token={token}")
    assert refused.value.status == 400
    r = await client.get(f"{WS_PATH}?token={token}")
    assert r.status == 400 and (await r.json())["code"] == "token_in_url"


async def test_no_token_reaches_any_log_line_not_even_the_access_log(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    """Production holds aiohttp's access log at WARNING (bot.logs), but an operator may
    turn it on, and a proxy in front logs every URL anyway: the widget's requests must not
    put the token where URLs are written."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="aiohttp.access")
    _, token = await new_session(client)
    auth = {"Authorization": f"Bearer {token}"}
    ws = await authenticated(await client.ws_connect(WS_PATH), token)
    await client.post("/api/chat/messages", json={"text": "パスワード忘れた"}, headers=auth)
    await client.get("/api/chat/messages?after=0", headers=auth)
    wrong = await client.ws_connect(WS_PATH)
    await wrong.send_json({"type": "auth", "token": token[::-1]})
    await closed_after(wrong)
    await ws.close()
    access = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert any(f"GET {WS_PATH} " in line for line in access), access  # the log was on
    formatter = JsonFormatter()
    lines = [formatter.format(record) for record in caplog.records]
    assert not [line for line in lines if token in line or token[::-1] in line]
    assert any("websocket refused" in line and "invalid_token" in line for line in lines)

    # An old widget's URL holds its token: refused, and the refusal's own line does not
    # repeat it (only an access log that is on writes the URL it was sent).
    caplog.clear()
    await client.get(f"{WS_PATH}?token={token}")
    ours = [formatter.format(r) for r in caplog.records if r.name != "aiohttp.access"]
    assert any("token in its URL refused" in line for line in ours)
    assert not [line for line in ours if token in line]
