"""The LINE channel against a fake LINE Messaging API, with webhooks signed as LINE signs
them, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import col, func, select

from bot.app import SERVICES, Services, create_app
from bot.config import Settings
from bot.models import (
    Conversation,
    ConversationStatus,
    Customer,
    EventDelivery,
    Identity,
    InboundEvent,
    Message,
    Outbox,
    OutboxStatus,
)
from bot.texts import DEFAULT_TEXTS
from tests.conftest import Database
from tests.fakes.clock import ManualClock
from tests.fakes.line_api import FakeLineApi
from tests.fakes.settling import unsettled
from tests.raw_http import request_bytes, send_raw

SECRET = "line-channel-secret-0123456789"
TOKEN = "line-access-token-0123456789"
JA = DEFAULT_TEXTS["ja"]
USER = "U206d25c2ea6bd87c17655609a1c37cb8"

ClientMaker = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]
ServerMaker = Callable[[web.Application], Awaitable[TestServer]]


def line_signature(body: bytes) -> str:
    """Exactly what LINE sends in X-Line-Signature."""
    return base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()


@dataclass
class Line:
    client: TestClient[Any, Any]
    api: FakeLineApi
    clock: ManualClock
    counter: int = 0

    @property
    def services(self) -> Services:
        return self.client.app[SERVICES]

    def event(self, kind: str, user: str = USER, **extra: Any) -> dict[str, Any]:
        """An event shaped like LINE's own examples; a fresh reply token the fake accepts."""
        self.counter += 1
        token = f"reply-token-{self.counter}"
        self.api.valid_reply_tokens.add(token)
        event: dict[str, Any] = {
            "type": kind,
            "mode": "active",
            "timestamp": int(self.clock().timestamp() * 1000),
            "source": {"type": "user", "userId": user},
            "webhookEventId": f"01HEVENT{self.counter:06d}",
            "deliveryContext": {"isRedelivery": False},
        }
        if kind != "unfollow":
            event["replyToken"] = token
        event.update(extra)
        return event

    def text(self, text: str, user: str = USER) -> dict[str, Any]:
        return self.event(
            "message", user, message={"id": "1", "type": "text", "text": text, "quoteToken": "q"}
        )

    async def post(self, *events: dict[str, Any], signature: str | None = None) -> Any:
        body = json.dumps({"destination": "Ubot", "events": list(events)}).encode()
        headers = {"Content-Type": "application/json"}
        headers["X-Line-Signature"] = line_signature(body) if signature is None else signature
        return await self.client.post("/webhooks/line", data=body, headers=headers)

    async def settle(self) -> None:
        """Let the inbox and the outbox finish what is due now, including work the app's
        own background loops have already claimed."""
        async with asyncio.timeout(10):
            while True:
                while await self.services.inbox.process_once():
                    pass
                while await self.services.events.deliver_once():
                    pass
                while await self.services.outbox.dispatch_once():
                    pass
                if not await self._in_flight():
                    return
                await asyncio.sleep(0.01)

    async def _in_flight(self) -> int:
        models = (
            (Outbox, "conversation_id"), (InboundEvent, "sender"), (EventDelivery, "group_key")
        )
        return await unsettled(self.services.sessions, models, self.clock())

    async def count(self, model: Any) -> int:
        async with self.services.sessions() as s:
            return int((await s.exec(select(func.count()).select_from(model))).one())


@pytest.fixture
async def line(
    aiohttp_client: ClientMaker, aiohttp_server: ServerMaker, database: Database, faq_dir: Path
) -> AsyncIterator[Line]:
    api = FakeLineApi(access_token=TOKEN)
    server = await aiohttp_server(api.app())
    clock = ManualClock()
    settings = Settings.from_env(
        {
            **database.env,
            "HELPDESK_FAQ_DIR": str(faq_dir),
            "LINE_CHANNEL_SECRET": SECRET,
            "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
            "LINE_API_BASE_URL": f"http://127.0.0.1:{server.port}",
            # Short enough for the hang test, long enough for a loaded test machine.
            "LINE_REQUEST_TIMEOUT_SECONDS": "2",
        }
    )
    client = await aiohttp_client(create_app(settings, clock=clock))
    yield Line(client, api, clock)
    await client.close()


async def test_text_message_is_answered_by_reply_with_quick_replies(line: Line) -> None:
    line.api.profiles[USER] = "山田 花子"
    r = await line.post(line.text("パスワード忘れた"))
    assert r.status == 200
    await line.settle()
    (call,) = line.api.calls
    assert call.kind == "reply"
    answer, ask = call.messages
    assert "パスワードをお忘れの方" in answer["text"]
    assert ask["text"] == JA["did_it_help"]
    items = ask["quickReply"]["items"]
    assert [i["action"]["data"] for i in items] == [
        "helpful:yes:password-reset",
        "helpful:no:password-reset",
    ]
    assert items[0]["action"]["displayText"] == JA["helpful_yes"]
    async with line.services.sessions() as s:
        names = (await s.exec(select(Customer.display_name))).all()
    assert names == ["山田 花子"]


async def test_postback_resolves(line: Line) -> None:
    await line.post(line.text("パスワード忘れた"))
    await line.settle()
    await line.post(line.event("postback", postback={"data": "helpful:yes:password-reset"}))
    await line.settle()
    assert line.api.calls[-1].texts == [JA["glad_it_helped"]]
    async with line.services.sessions() as s:
        statuses = (await s.exec(select(Conversation.status))).all()
    assert statuses == [ConversationStatus.RESOLVED]


@pytest.mark.parametrize("signature", ["", "bm90IHRoZSBzaWduYXR1cmU=", "garbage"])
async def test_forged_or_missing_signature_is_refused_and_changes_nothing(
    line: Line, signature: str
) -> None:
    r = await line.post(line.text("パスワード忘れた"), signature=signature)
    assert r.status == 401
    assert (await r.json())["error"] == "missing or invalid X-Line-Signature"
    assert await line.count(InboundEvent) == 0


async def test_signature_of_other_bytes_is_refused(line: Line) -> None:
    body = json.dumps({"destination": "U", "events": [line.text("a")]}).encode()
    r = await line.client.post(
        "/webhooks/line",
        data=body + b" ",
        headers={"X-Line-Signature": line_signature(body), "Content-Type": "application/json"},
    )
    assert r.status == 401


async def test_a_signature_header_that_is_not_utf8_is_refused(line: Line) -> None:
    # compare_digest raised on the surrogate escapes aiohttp decodes such bytes to: a 500
    # (found by the fuzz run).
    assert line.client.server.port is not None
    request = request_bytes("POST", "/webhooks/line", [("X-Line-Signature", b"\xff\xfe==")])
    reply = await send_raw(line.client.server.port, request)
    assert reply.status == 401
    assert json.loads(reply.body) == {
        "error": "missing or invalid X-Line-Signature: the X-Line-Signature header is not ASCII"
    }


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "body is not valid JSON"),
        (b'{"destination": "U"}', 'expected a JSON object with an "events" list'),
        (b'{"events": [1]}', "events[0] is not an object"),
        (b'{"events": [{"type": "message"}]}', "events[0]: an event has no webhookEventId"),
        # Found by the fuzz run (tests/test_fuzz_api.py): a 500 on every database, or on
        # PostgreSQL, which refuses NUL and NaN in jsonb.
        (b"[" * 60_000, "body is not valid JSON: nested too deeply"),
        (b'{"events": [{"webhookEventId": "e\\u0000"}]}', "body cannot be stored: text contains"),
        (b'{"events": [{"webhookEventId": "\\udfff"}]}', "body cannot be stored: text contains"),
        (b'{"events": [], "x": NaN}', "body cannot be stored: NaN"),
    ],
)
async def test_malformed_body_gets_400_with_a_reason(line: Line, body: bytes, reason: str) -> None:
    r = await line.client.post(
        "/webhooks/line", data=body, headers={"X-Line-Signature": line_signature(body)}
    )
    assert r.status == 400
    assert (await r.json())["error"].startswith(reason)
    assert await line.count(InboundEvent) == 0


async def test_empty_events_list_is_the_console_verify_call(line: Line) -> None:
    assert (await line.post()).status == 200


async def test_redelivery_and_replay_are_processed_once(line: Line) -> None:
    event = line.text("パスワード忘れた")
    await line.post(event)
    replayed = {**event, "deliveryContext": {"isRedelivery": True}}
    assert (await line.post(replayed)).status == 200
    assert (await line.post(event)).status == 200
    await line.settle()
    assert len(line.api.calls) == 1
    assert await line.count(Message) == 3  # question, answer, "did this help?"


async def test_expired_reply_token_falls_back_to_push_with_a_retry_key(line: Line) -> None:
    event = line.text("パスワード忘れた")
    event["timestamp"] -= 120_000  # received two minutes ago: the token is stale
    await line.post(event)
    await line.settle()
    (call,) = line.api.calls
    assert call.kind == "push" and call.to == USER and call.retry_key
    assert "パスワードをお忘れの方" in call.texts[0]


async def test_used_reply_token_falls_back_to_push(line: Line) -> None:
    event = line.text("パスワード忘れた")
    line.api.valid_reply_tokens.discard(event["replyToken"])  # LINE says it is invalid
    await line.post(event)
    await line.settle()
    assert [c.kind for c in line.api.calls] == ["push"]


async def test_outage_delays_but_delivers_everything_once_in_order(line: Line) -> None:
    line.api.fail_next(3, status=500)
    await line.post(line.text("パスワード忘れた"))
    await line.settle()
    await line.post(line.text("料金プラン"))
    await line.settle()
    assert line.api.calls == []
    for _ in range(6):  # backoff 1 s, 2 s, 4 s ...
        line.clock.advance(seconds=30)
        await line.settle()
    texts = line.api.all_texts()
    assert len(texts) == 4 and texts[1] == texts[3] == JA["did_it_help"]
    assert "パスワードをお忘れの方" in texts[0] and "600円" in texts[2]
    async with line.services.sessions() as s:
        assert {r.status for r in (await s.exec(select(Outbox))).all()} == {OutboxStatus.SENT}


async def test_rate_limit_waits_for_retry_after(line: Line) -> None:
    line.api.fail_next(1, status=429, retry_after=120)
    await line.post(line.text("パスワード忘れた"))
    await line.settle()
    line.clock.advance(seconds=100)
    await line.settle()
    assert line.api.calls == []
    line.clock.advance(seconds=21)
    await line.settle()
    assert len(line.api.calls) == 1


async def test_a_rate_limit_holds_every_conversation_until_retry_after(line: Line) -> None:
    line.api.fail_next(1, status=429, retry_after=120)
    await line.post(line.text("パスワード忘れた"))
    await line.settle()
    # Another customer writes while LINE has asked for a pause: their answer waits too,
    # instead of spending a call that would be refused.
    await line.post(line.text("パスワード忘れた", user="U" + "b" * 32))
    await line.settle()
    line.clock.advance(seconds=100)
    await line.settle()
    assert line.api.calls == [] and line.api.requests == 1
    line.clock.advance(seconds=21)
    await line.settle()
    assert sorted(c.to or "" for c in line.api.calls) == sorted([USER, "U" + "b" * 32])


async def test_hanging_api_times_out_and_is_retried(line: Line) -> None:
    line.api.hang_next(1, seconds=4)
    event = line.text("パスワード忘れた")
    await line.post(event)
    await line.settle()
    assert line.api.calls == []
    async with line.services.sessions() as s:
        row = (await s.exec(select(Outbox).order_by(col(Outbox.id)))).first()
    assert row is not None and row.status == OutboxStatus.PENDING
    assert "timed out" in (row.last_error or "")
    line.clock.advance(seconds=5)
    await line.settle()
    assert len(line.api.calls) == 1


async def test_a_push_retried_after_a_lost_response_is_not_delivered_twice(line: Line) -> None:
    event = line.text("パスワード忘れた")
    event["timestamp"] -= 120_000
    await line.post(event)
    await line.settle()
    (first,) = line.api.pushes()
    # The same queued messages pushed again (as after a crash) reuse the retry key.
    async with line.services.sessions() as s, s.begin():
        for row in (await s.exec(select(Outbox))).all():
            row.status, row.due_at = OutboxStatus.PENDING, line.clock()
    await line.settle()
    assert line.api.pushes() == [first]
    assert line.api.requests == 2


async def test_client_error_is_recorded_and_not_retried(line: Line) -> None:
    line.api.fail_next(1, status=403)
    await line.post(line.text("パスワード忘れた"))
    await line.settle()
    line.clock.advance(hours=1)
    await line.settle()
    assert line.api.calls == [] and line.api.requests == 1
    async with line.services.sessions() as s:
        rows = (await s.exec(select(Outbox))).all()
    assert {r.status for r in rows} == {OutboxStatus.FAILED}
    assert "403" in (rows[0].last_error or "")


async def test_unfollow_blocks_and_follow_unblocks_with_a_greeting(line: Line) -> None:
    await line.post(line.text("オペレーター"))
    await line.settle()
    calls = len(line.api.calls)
    await line.post(line.event("unfollow"))
    await line.settle()
    async with line.services.sessions() as s:
        identity = (await s.exec(select(Identity))).one()
    assert identity.blocked_at is not None
    await line.post(line.event("follow", follow={"isUnblocked": True}))
    await line.settle()
    greeting = line.api.calls[-1]
    assert len(line.api.calls) == calls + 1
    assert greeting.texts == [JA["follow_greeting"]]
    labels = [i["action"]["label"] for i in greeting.messages[0]["quickReply"]["items"]]
    assert labels[:2] == ["料金", "アカウント"] and labels[-1] == JA["talk_to_person"]
    async with line.services.sessions() as s:
        identity = (await s.exec(select(Identity))).one()
    assert identity.blocked_at is None


async def test_nothing_is_sent_to_a_blocked_user(
    line: Line, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await line.post(line.event("unfollow"))
    await line.post(line.text("パスワード忘れた"))  # e.g. a late, delayed event
    await line.settle()
    assert line.api.calls == []
    # The customer's choice, not a failure: nothing at ERROR for an operator to chase.
    dropped = [r for r in caplog.records if r.getMessage() == "outbox message given up"]
    assert dropped and all(r.levelno == logging.INFO for r in dropped)


async def test_category_choice_lists_its_questions(line: Line) -> None:
    await line.post(line.event("postback", postback={"data": "cat:料金"}))
    await line.settle()
    items = line.api.calls[-1].messages[0]["quickReply"]["items"]
    assert [i["action"]["data"] for i in items] == [
        "faq:plan-pricing",
        "faq:cancel-subscription",
        "human",
    ]


async def test_sticker_gets_a_polite_text_only_reply(line: Line) -> None:
    sticker = {"id": "2", "type": "sticker", "packageId": "1", "stickerId": "1"}
    await line.post(line.event("message", message=sticker))
    await line.settle()
    assert line.api.calls[-1].texts == [JA["text_only"]]


async def test_image_during_handoff_goes_to_the_agent_as_a_note(line: Line) -> None:
    await line.post(line.text("オペレーター"))
    await line.settle()
    calls = len(line.api.calls)
    await line.post(line.event("message", message={"id": "3", "type": "image"}))
    await line.settle()
    async with line.services.sessions() as s:
        texts = (await s.exec(select(Message.text).order_by(col(Message.id)))).all()
    assert "[image]" in texts
    assert all(JA["text_only"] not in c.texts for c in line.api.calls[calls:])


async def test_unknown_event_types_are_ignored_not_500(line: Line) -> None:
    r = await line.post(line.event("beacon", beacon={"hwid": "x", "type": "enter"}))
    assert r.status == 200
    await line.settle()
    assert line.api.calls == []
    async with line.services.sessions() as s:
        statuses = (await s.exec(select(InboundEvent.status))).all()
    assert statuses == ["done"]


async def test_long_answer_is_split_and_many_buttons_are_capped(line: Line) -> None:
    from bot.messages import Button, Outbound
    from bot.ports import Recipient

    long = "あ" * 4999 + "\n" + "い" * 3000
    buttons = tuple(Button("とても長いボタンのラベル👍🏽です" * 2, f"faq:{i}") for i in range(20))
    messages = [Outbound(1, 1, "bot", long, buttons)]
    assert line.services.line is not None
    await line.services.line.send(Recipient("line", USER, 1), messages)
    (call,) = line.api.calls
    assert [len(t) for t in call.texts] == [4999, 3000]
    items = call.messages[1]["quickReply"]["items"]
    assert len(items) == 13 and all(len(i["action"]["label"]) <= 20 for i in items)


async def test_web_customer_continues_on_line_with_a_code(line: Line) -> None:
    r = await line.client.post("/api/chat/sessions")
    auth = {"Authorization": f"Bearer {(await r.json())['token']}"}
    await line.client.post("/api/chat/messages", json={"text": "料金プラン"}, headers=auth)
    code = (await (await line.client.post("/api/chat/link-code", headers=auth)).json())["code"]
    await line.post(line.text("パスワード忘れた"))  # the LINE user has history of their own
    await line.settle()
    typed = code.lower().replace("-", " ")  # as a customer might type it
    await line.post(line.text(typed))
    await line.settle()
    assert line.api.calls[-1].texts == [JA["linked"]]
    async with line.services.sessions() as s:
        identities = (await s.exec(select(Identity))).all()
        conversations = (await s.exec(select(Conversation))).all()
    assert len({i.customer_id for i in identities}) == 1
    assert len({c.customer_id for c in conversations}) == 1
    # Single use: the same code again is refused.
    await line.post(line.text(code, user="U-someone-else"))
    await line.settle()
    assert line.api.calls[-1].texts == [JA["link_code_invalid"]]


async def test_expired_link_code_is_refused(line: Line) -> None:
    r = await line.client.post("/api/chat/sessions")
    auth = {"Authorization": f"Bearer {(await r.json())['token']}"}
    code = (await (await line.client.post("/api/chat/link-code", headers=auth)).json())["code"]
    line.clock.advance(minutes=11)
    await line.post(line.text(code))
    await line.settle()
    assert line.api.calls[-1].texts == [JA["link_code_invalid"]]


async def test_event_is_stored_before_the_200(line: Line) -> None:
    r = await line.post(line.text("パスワード忘れた"))
    assert r.status == 200
    async with line.services.sessions() as s:
        (row,) = (await s.exec(select(InboundEvent))).all()
    assert row.sender == USER and row.payload["message"]["text"] == "パスワード忘れた"


async def test_oversized_webhook_is_refused(line: Line) -> None:
    # 40 texts of LINE's longest (5,000 characters): past the 1 MiB webhook default.
    events = [line.text("あ" * 5000) for _ in range(40)]
    r = await line.post(*events)
    assert r.status == 413
    assert (await r.json())["error"].startswith("request body is too large")
    assert await line.count(InboundEvent) == 0


async def test_a_timestamp_past_what_a_datetime_holds_falls_back_to_receipt_time(
    line: Line, caplog: pytest.LogCaptureFixture
) -> None:
    # fromtimestamp() raised OverflowError/OSError in the inbox, which retried forever.
    event = line.text("パスワード忘れた")
    event["timestamp"] = 10**20
    assert (await line.post(event)).status == 200
    await line.settle()
    assert "パスワードをお忘れの方" in line.api.all_texts()[0]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    "broken",
    [
        {"type": "message", "message": {"id": "1"}},
        {"type": "message", "message": {"id": "1", "type": "text", "text": 5}},
        {"type": "postback", "postback": {"data": ["not", "a", "string"]}},
    ],
)
async def test_a_malformed_event_is_dropped_once_not_retried(
    line: Line, broken: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    # It failed in the inbox with an exception (logged at ERROR), then again after each
    # backoff, though no retry can mend a payload.
    caplog.set_level(logging.INFO)
    event = {**line.event(str(broken["type"])), **broken}
    assert (await line.post(event)).status == 200
    await line.settle()
    async with line.services.sessions() as s:
        (row,) = (await s.exec(select(InboundEvent))).all()
    assert row.status == "done" and row.attempts == 1
    assert line.api.calls == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(r.getMessage() == "line event malformed; dropped" for r in caplog.records)


async def test_a_failed_profile_fetch_is_tried_again_after_a_day(line: Line) -> None:
    # LINE answers 404 for a profile it will not give: the name stays unknown, and the
    # identity is left unstamped so a later message fetches it again.
    await line.post(line.text("パスワード忘れた"))
    await line.settle()
    async with line.services.sessions() as s:
        (identity,) = (await s.exec(select(Identity))).all()
        assert identity.profile_fetched_at is None
        assert (await s.exec(select(Customer.display_name))).all() == [None]
    line.api.profiles[USER] = "山田 花子"
    line.clock.advance(hours=25)
    await line.post(line.text("料金プラン"))
    await line.settle()
    async with line.services.sessions() as s:
        assert (await s.exec(select(Customer.display_name))).all() == ["山田 花子"]
        (identity,) = (await s.exec(select(Identity))).all()
    assert identity.profile_fetched_at is not None
    # fetched: a day later the name is refreshed
    line.api.profiles[USER] = "山田 花"
    line.clock.advance(hours=25)
    await line.post(line.text("料金プラン"))
    await line.settle()
    async with line.services.sessions() as s:
        assert (await s.exec(select(Customer.display_name))).all() == ["山田 花"]
