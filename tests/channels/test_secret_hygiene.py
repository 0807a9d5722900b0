"""Secrets never show in logs or in answers: the app runs with distinctive secret values,
goes through its error paths (bad signatures, bad tokens, platform outages, oversized
and too many requests, bad settings), and every log record (DEBUG and up, as production
would emit them) and every response is searched for every secret."""

from __future__ import annotations

import logging
from pathlib import Path

import aiohttp
import pytest
from sqlmodel import select

from bot.config import Settings, SettingsError
from bot.logs import LIBRARY_LOG_LEVELS, JsonFormatter
from bot.models import Outbox, SlackPost
from channels.slack.render import CLAIM
from channels.web.sessions import identity_hash
from tests.channels.slack_desk import (
    LINE_SECRET,
    LINE_TOKEN,
    SLACK_SECRET,
    SLACK_TOKEN,
    ClientMaker,
    Desk,
    ServerMaker,
    make_desk,
)
from tests.chat_socket import WS_PATH, authenticated
from tests.conftest import POSTGRES_URL, Database
from tests.fakes.clock import ManualClock

ADMIN = "admin-tok-Q7x2K9pLm4Vb"
IDENTITY = "identity-sec-H4t8W1zR6n"
DB_PASSWORD = "db-pass-N3vR8bX2qT"
LINE_USER = "U206d25c2ea6bd87c17655609a1c37cb8"


class Transcript:
    """Every response the test got, as text: status, URL, headers and body."""

    def __init__(self) -> None:
        self.bodies: list[str] = []

    async def keep(self, response: aiohttp.ClientResponse) -> aiohttp.ClientResponse:
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        self.bodies.append(f"{response.status} {response.url}\n{headers}\n{await response.text()}")
        return response


def database_with_password(database: Database) -> dict[str, str]:
    """The test database's URL with a password in it (PostgreSQL here trusts the
    loopback, so the password is carried around but never checked)."""
    if database.schema is None:
        return database.env
    assert database.url == POSTGRES_URL
    with_password = POSTGRES_URL.replace("postgres@", f"postgres:{DB_PASSWORD}@")
    return {**database.env, "HELPDESK_DATABASE_URL": with_password}


async def test_secrets_appear_in_no_log_and_no_response(
    aiohttp_client: ClientMaker,
    aiohttp_server: ServerMaker,
    database: Database,
    faq_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    for name, level in LIBRARY_LOG_LEVELS.items():
        caplog.set_level(level, logger=name)
    # Last: set_level also sets the capturing handler's level, which must be DEBUG.
    caplog.set_level(logging.DEBUG)
    desk = await make_desk(
        aiohttp_client, aiohttp_server, database, faq_dir, ManualClock(),
        HELPDESK_ADMIN_TOKEN=ADMIN, HELPDESK_IDENTITY_SECRET=IDENTITY,
        HELPDESK_RATE_LIMIT_NEW_SESSIONS_PER_MINUTE="3", HELPDESK_MAX_BODY_BYTES="4096",
        **database_with_password(database),
    )  # fmt: skip
    seen = Transcript()
    try:
        customer_tokens = await exercise(desk, seen)
        rows = await stored_errors(desk)
    finally:
        await desk.client.close()

    secrets = [ADMIN, IDENTITY, LINE_SECRET, LINE_TOKEN, SLACK_SECRET, SLACK_TOKEN, DB_PASSWORD]
    formatter = JsonFormatter()
    logs = [formatter.format(record) for record in caplog.records]
    # The run must have gone through the error paths, or finding nothing proves nothing.
    events = "\n".join(logs)
    assert "line webhook with a missing or wrong signature refused" in events
    assert "rate limited" in events and len(logs) > 50
    assert any(" 401 " in b or b.startswith("401 ") for b in seen.bodies)
    for secret in secrets:
        assert not [line for line in logs if secret in line], secret
        assert not [body for body in seen.bodies if secret in body], secret
        assert not [row for row in rows if secret in row], secret
    assert settings_leaks() == []
    for token in customer_tokens:
        # Handed out once, in the answer that created the session; never again.
        assert sum(token in body for body in seen.bodies) == 1
        assert not [line for line in logs if token in line]


async def exercise(desk: Desk, seen: Transcript) -> list[str]:
    """Walk the app through its normal and error paths; return the customer tokens."""
    client, keep = desk.client, seen.keep
    # Web chat: a session, a bad token, a vouched user with a right and a wrong hash.
    r = await keep(await client.post("/api/chat/sessions", json={"locale": "en"}))
    token = (await r.json())["token"]
    auth = {"Authorization": f"Bearer {token}"}
    vouched = {"external_id": "user-42", "identity_hash": identity_hash(IDENTITY, "user-42")}
    r = await keep(await client.post("/api/chat/sessions", json=vouched))
    other_token = (await r.json())["token"]
    wrong = {**vouched, "identity_hash": identity_hash("not-the-secret-at-all", "user-42")}
    await keep(await client.post("/api/chat/sessions", json=wrong))
    await keep(await client.post("/api/chat/sessions", json={}))  # new-session limit: 429
    await keep(await client.get("/api/chat/messages", headers={"Authorization": "Bearer nope"}))
    await keep(await client.post("/api/chat/messages", json={"text": "x" * 5000}, headers=auth))
    await keep(await client.post("/api/chat/messages", data=b"{broken", headers=auth))
    ws = await authenticated(await client.ws_connect(WS_PATH), token)
    r = await keep(
        await client.post("/api/chat/messages", json={"text": "talk to a person"}, headers=auth)
    )
    await desk.settle()

    # Admin: no token, a wrong one, the right one.
    for token_given in (None, "wrong-admin-token-00", ADMIN):
        headers = {} if token_given is None else {"Authorization": f"Bearer {token_given}"}
        await keep(await client.get("/api/handoffs", headers=headers))
        await keep(await client.get("/api/reports/summary", headers=headers))

    # LINE: a forged delivery, a real one while the LINE API is down, then up again.
    await keep(await desk.line.post(desk.line.text("パスワード忘れた"), signature="Zm9yZ2Vk"))
    desk.line_api.fail_next(2, status=500)
    await keep(await desk.line.post(desk.line.text("パスワード忘れた")))
    await desk.settle()
    for _ in range(4):
        desk.clock.advance(minutes=5)
        await desk.settle()

    # Slack: a forged request, a Slack outage while posting the case, an agent's claim
    # and reply relayed to the web customer.
    await keep(await desk.send(b'{"type": "event_callback"}', "application/json",
                               signature="v0=" + "0" * 64))  # fmt: skip
    desk.slack.fail_next(1, "status", 503)
    desk.slack.fail_next(1, "ratelimited", 30)
    await keep(await client.post("/api/chat/messages", json={"text": "still there?"}, headers=auth))
    for _ in range(4):
        desk.clock.advance(minutes=5)
        await desk.settle()
    (root,) = desk.slack.roots()
    assert root.ts is not None
    conversation_id = int(root.text.split("#")[1].split(":")[0])
    await keep(await desk.click(CLAIM, conversation_id, root.ts, "UBOB"))
    await keep(await desk.event(desk.reply_event("UBOB", "Hello from Bob", root.ts)))
    await desk.settle()
    await ws.close()
    await keep(await desk.line.post(desk.line.text("長い" * 100_000)))  # over the webhook limit
    return [token, other_token]


async def stored_errors(desk: Desk) -> list[str]:
    """What the outboxes wrote down about failed sends."""
    async with desk.services.sessions() as s:
        outbox = (await s.exec(select(Outbox.last_error))).all()
        slack = (await s.exec(select(SlackPost.last_error))).all()
    return [e for e in (*outbox, *slack) if e]


def settings_leaks() -> list[str]:
    """Secret values that a settings error repeated; each case is refused, and the
    message names the variable."""
    cases: list[tuple[dict[str, str], str]] = [
        ({"HELPDESK_ADMIN_TOKEN": ADMIN[:12]}, ADMIN[:12]),
        ({"HELPDESK_IDENTITY_SECRET": IDENTITY[:12]}, IDENTITY[:12]),
        ({"LINE_CHANNEL_SECRET": LINE_SECRET[:10], "LINE_CHANNEL_ACCESS_TOKEN": LINE_TOKEN},
         LINE_SECRET[:10]),
        ({"LINE_CHANNEL_SECRET": LINE_SECRET}, LINE_SECRET),
        ({"SLACK_SIGNING_SECRET": SLACK_SECRET[:10], "SLACK_BOT_TOKEN": SLACK_TOKEN},
         SLACK_SECRET[:10]),
        ({"SLACK_BOT_TOKEN": SLACK_TOKEN.replace("xoxb-", "xoxp-")}, SLACK_TOKEN[5:]),
        ({"HELPDESK_DATABASE_URL": f"mysql://helpdesk:{DB_PASSWORD}@db/helpdesk"}, DB_PASSWORD),
        ({"HELPDESK_DATABASE_URL": f"postgresql://hd:{DB_PASSWORD}@db/hd"}, DB_PASSWORD),
    ]  # fmt: skip
    leaks = []
    for env, secret in cases:
        with pytest.raises(SettingsError) as err:
            Settings.from_env(env)
        message = str(err.value)
        assert any(name in message for name in env), message
        if secret in message:
            leaks.append(message)
    return leaks
