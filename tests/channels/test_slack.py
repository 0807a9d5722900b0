"""The Slack agent desk end to end: LINE and web customers, a fake Slack Web API, signed
requests to /slack/events, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.event_outbox import Subscription
from bot.events import ConversationResolved, DomainEvent
from bot.models import Conversation, ConversationStatus, Message, ProcessedEvent, SlackPost
from bot.texts import DEFAULT_TEXTS
from channels.slack.render import CLAIM, RESOLVE, TRANSCRIPT
from tests.channels.slack_desk import (
    CHANNEL,
    ClientMaker,
    Desk,
    ServerMaker,
    make_desk,
    slack_signature,
)
from tests.chat_socket import WS_PATH, authenticated
from tests.conftest import Database
from tests.fakes.clock import ManualClock

JA = DEFAULT_TEXTS["ja"]
EN = DEFAULT_TEXTS["en"]
LINE_USER = "U206d25c2ea6bd87c17655609a1c37cb8"


async def line_asks_for_a_person(desk: Desk) -> int:
    desk.line_api.profiles[LINE_USER] = "山田 花子"
    await desk.line.post(desk.line.text("パスワード忘れた"))
    await desk.settle()
    await desk.line.post(desk.line.text("オペレーター"))
    await desk.settle()
    async with desk.services.sessions() as s:
        conversation = (await s.exec(select(Conversation))).one()
    assert conversation.id is not None and conversation.status == ConversationStatus.WAITING
    return conversation.id


async def test_line_customer_end_to_end(desk: Desk) -> None:
    resolved: list[DomainEvent] = []

    async def record(session: AsyncSession, event: ConversationResolved) -> None:
        resolved.append(event)

    desk.services.events.subscribe(Subscription("recorder", (ConversationResolved,), record))
    conversation_id = await line_asks_for_a_person(desk)

    # The root message: who, why, what was tried, the transcript, the buttons.
    root = desk.root_of(conversation_id)
    assert root.args["channel"] == CHANNEL
    shown = root.all_text()
    assert "山田 花子" in shown and "LINE" in shown and "asked for a person" in shown
    assert "password-reset" in shown  # the FAQ answer already given
    assert "パスワード忘れた" in shown and "オペレーター" in shown
    buttons = [e["action_id"] for e in root.blocks[-1]["elements"]]
    assert buttons == [CLAIM, RESOLVE, TRANSCRIPT]
    handoff = await desk.handoff(conversation_id)
    assert (handoff.slack_channel, handoff.slack_thread_ts) == (CHANNEL, root.ts)
    assert root.ts is not None

    # The customer heard they are first in the queue.
    assert JA["queue_position"].format(position=1) in desk.line_api.all_texts()

    # Claim: recorded, the root shows who, the customer is told a person is helping.
    r = await desk.click(CLAIM, conversation_id, root.ts, "UALICE")
    assert r.status == 200
    await desk.settle()
    handoff = await desk.handoff(conversation_id)
    assert (handoff.agent_ref, handoff.agent_name) == ("UALICE", "ualice")
    (update,) = desk.slack.updates(root.ts)
    assert "Claimed* by <@UALICE>" in update.all_text()
    assert [e["action_id"] for e in update.blocks[-1]["elements"]] == [RESOLVE, TRANSCRIPT]
    assert desk.line_api.calls[-1].texts == [JA["agent_joined"].format(agent="ualice")]

    # The agent's thread reply reaches the customer by push, from a person.
    desk.clock.advance(minutes=3)
    await desk.reply(
        "UALICE", "確認します &amp; <https://example.com/reset|こちら>をご覧ください", root.ts
    )
    await desk.settle()
    push = desk.line_api.calls[-1]
    assert push.kind == "push" and push.to == LINE_USER
    assert push.messages[0]["sender"] == {"name": JA["agent_sender_name"]}
    assert push.texts == ["確認します & こちら (https://example.com/reset)をご覧ください"]
    async with desk.services.sessions() as s:
        last = (await s.exec(select(Message).order_by(col(Message.id).desc()))).first()
    assert last is not None and last.role == "agent"
    handoff = await desk.handoff(conversation_id)
    assert handoff.first_response_at is not None
    assert handoff.first_response_at - handoff.requested_at == desk.clock() - handoff.requested_at

    # The customer's answer goes into the thread, not to the FAQ.
    calls = len(desk.line_api.calls)
    await desk.line.post(desk.line.text("パスワード忘れた、ありがとう"))
    await desk.settle()
    assert desk.line_api.calls[calls:] == []
    assert desk.slack.thread(root.ts)[-1].text == "*山田 花子:* パスワード忘れた、ありがとう"

    # Resolve with the button.
    await desk.click(RESOLVE, conversation_id, root.ts, "UALICE")
    await desk.settle()
    assert desk.line_api.calls[-1].texts == [JA["resolved_by_agent"]]
    assert "*Resolved* by <@UALICE>" in desk.slack.updates(root.ts)[-1].all_text()
    async with desk.services.sessions() as s:
        conversation = await s.get(Conversation, conversation_id)
    assert conversation is not None
    assert (conversation.status, conversation.resolution) == ("resolved", "agent")
    assert [e.conversation_id for e in resolved] == [conversation_id]


async def test_web_customer_end_to_end(desk: Desk) -> None:
    r = await desk.client.post("/api/chat/sessions", json={"locale": "en"})
    token = (await r.json())["token"]
    auth = {"Authorization": f"Bearer {token}"}
    ws = await authenticated(await desk.client.ws_connect(WS_PATH), token)
    r = await desk.client.post(
        "/api/chat/messages", json={"text": "talk to a person"}, headers=auth
    )
    conversation_id = (await r.json())["message"]["id"] and (await desk_conversation(desk))
    await desk.settle()
    root = desk.root_of(conversation_id)
    assert "web chat" in root.all_text() and "talk to a person" in root.all_text()
    assert root.ts is not None

    await desk.click(CLAIM, conversation_id, root.ts, "UBOB")
    await desk.settle()
    await desk.reply("UBOB", "Hello, I'm Bob. How can I help?", root.ts)
    await desk.settle()
    pushed = await receive_until(ws, "Hello, I'm Bob. How can I help?")
    assert pushed["role"] == "agent"

    await desk.client.post("/api/chat/messages", json={"text": "My invoice is wrong"}, headers=auth)
    await desk.settle()
    assert desk.slack.thread(root.ts)[-1].text.endswith(":* My invoice is wrong")

    assert await desk.command("resolve", user="UBOB") == (
        f"Case #{conversation_id} is resolved; the customer was told."
    )
    await desk.settle()
    assert (await receive_until(ws, EN["resolved_by_agent"]))["role"] == "bot"
    await ws.close()


async def desk_conversation(desk: Desk) -> int:
    async with desk.services.sessions() as s:
        conversation = (await s.exec(select(Conversation).order_by(col(Conversation.id)))).all()
    assert conversation[-1].id is not None
    return conversation[-1].id


async def receive_until(ws: Any, text: str) -> dict[str, Any]:
    async with asyncio.timeout(5):
        while True:
            data = await ws.receive_json()
            if data.get("type") == "message" and data["message"]["text"] == text:
                return dict(data["message"])


async def test_forged_or_stale_signatures_are_refused(desk: Desk) -> None:
    body = desk.event_body(desk.reply_event("UEVE", "偽物です", "1790000000.000001"))
    for signature in ("", "v0=" + "0" * 64, "v1=abc", "garbage"):
        r = await desk.send(body, "application/json", signature=signature)
        assert r.status == 401, signature
    stale = str(int(desk.clock().timestamp()) - 3600)  # a replayed, hour-old request
    r = await desk.send(
        body, "application/json", timestamp=stale, signature=slack_signature(stale, body)
    )
    assert r.status == 401
    assert desk.slack.calls == []  # refused before anything ran, even auth.test
    async with desk.services.sessions() as s:
        assert (await s.exec(select(ProcessedEvent))).all() == []


async def test_retries_and_repeated_event_ids_are_processed_once(desk: Desk) -> None:
    conversation_id = await line_asks_for_a_person(desk)
    root = desk.root_of(conversation_id)
    assert root.ts is not None
    event = desk.reply_event("UALICE", "一度だけ届くはず", root.ts)
    assert (await desk.event(event, event_id="EvONCE")).status == 200
    retry = await desk.event(
        event, event_id="EvONCE",
        headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )  # fmt: skip
    assert retry.status == 200 and retry.headers.get("x-slack-no-retries") == "1"
    assert (await desk.event(event, event_id="EvONCE")).status == 200  # replay, no header
    await desk.settle()
    assert desk.line_api.all_texts().count("一度だけ届くはず") == 1


async def test_a_retry_of_an_event_that_failed_is_processed(desk: Desk) -> None:
    conversation_id = await line_asks_for_a_person(desk)
    root = desk.root_of(conversation_id)
    assert root.ts is not None
    event = desk.reply_event("UALICE", "再送で届く", root.ts)
    r = await desk.event(event, event_id="EvRETRY", headers={"X-Slack-Retry-Num": "2"})
    assert r.status == 200
    await desk.settle()
    assert "再送で届く" in desk.line_api.all_texts()


async def test_two_agents_claiming_at_once_make_one_owner(desk: Desk) -> None:
    conversation_id = await line_asks_for_a_person(desk)
    root = desk.root_of(conversation_id)
    assert root.ts is not None
    responses = await asyncio.gather(
        desk.click(CLAIM, conversation_id, root.ts, "UALICE"),
        desk.click(CLAIM, conversation_id, root.ts, "UBOB"),
    )
    assert [r.status for r in responses] == [200, 200]
    await desk.settle()
    handoff = await desk.handoff(conversation_id)
    winner = handoff.agent_ref
    loser = "UBOB" if winner == "UALICE" else "UALICE"
    assert winner in ("UALICE", "UBOB")
    joined = [t for t in desk.line_api.all_texts() if t.startswith("スタッフの")]
    assert joined == [JA["agent_joined"].format(agent=winner.lower())]
    (told,) = desk.slack.ephemerals(loser)
    assert told.text == f"<@{winner}> already has this case."
    assert len(desk.slack.updates(root.ts)) == 1
    # Later, a third agent sees who has it.
    await desk.click(CLAIM, conversation_id, root.ts, "UCAROL")
    assert desk.slack.ephemerals("UCAROL")[0].text == f"<@{winner}> already has this case."


async def test_notes_stay_in_slack(desk: Desk) -> None:
    conversation_id = await line_asks_for_a_person(desk)
    root = desk.root_of(conversation_id)
    assert root.ts is not None
    before = desk.line_api.all_texts()
    await desk.reply("UALICE", "note: 前回も同じ問い合わせあり", root.ts)
    await desk.reply("UALICE", "  NOTE:大文字でも内部メモ", root.ts)
    await desk.settle()
    assert desk.line_api.all_texts() == before
    handoff = await desk.handoff(conversation_id)
    assert handoff.first_response_at is None and handoff.agent_ref is None


IGNORED = [
    {"bot_id": "BBOT", "user": "UBOT"},  # our own post
    {"subtype": "bot_message", "bot_id": "BOTHER", "user": None},  # another bot
    {"subtype": "message_changed"},  # an edit
    {"subtype": "channel_join"},
    {"thread_ts": None},  # a message in the channel, not in a case's thread
    {"thread_ts": "1790000000.999999"},  # a thread that is no case
]


async def test_messages_that_are_not_agent_replies_are_ignored(desk: Desk) -> None:
    conversation_id = await line_asks_for_a_person(desk)
    root = desk.root_of(conversation_id)
    assert root.ts is not None
    before = desk.line_api.all_texts()
    for extra in IGNORED:
        event = desk.reply_event("UALICE", "これは届かない", root.ts, **extra)
        event = {k: v for k, v in event.items() if v is not None}
        assert (await desk.event(event)).status == 200
    await desk.settle()
    assert desk.line_api.all_texts() == before
    assert (await desk.handoff(conversation_id)).agent_ref is None


async def test_reply_in_an_unclaimed_case_claims_it_for_the_agent(desk: Desk) -> None:
    conversation_id = await line_asks_for_a_person(desk)
    root = desk.root_of(conversation_id)
    assert root.ts is not None
    await desk.reply("UDAVE", "お待たせしました", root.ts)
    await desk.settle()
    handoff = await desk.handoff(conversation_id)
    assert handoff.agent_ref == "UDAVE" and handoff.first_response_at is not None
    assert "Claimed* by <@UDAVE>" in desk.slack.updates(root.ts)[-1].all_text()
    assert desk.line_api.all_texts()[-1] == "お待たせしました"


async def test_reply_after_resolution_is_not_sent(desk: Desk) -> None:
    conversation_id = await line_asks_for_a_person(desk)
    root = desk.root_of(conversation_id)
    assert root.ts is not None
    await desk.click(RESOLVE, conversation_id, root.ts, "UALICE")
    await desk.settle()
    await desk.reply("UALICE", "遅れた返信", root.ts)
    await desk.settle()
    assert "遅れた返信" not in desk.line_api.all_texts()
    assert "resolved" in desk.slack.ephemerals("UALICE")[-1].text


async def test_slack_outage_delays_but_loses_nothing_and_keeps_order(desk: Desk) -> None:
    desk.slack.fail_next(1, "ratelimited", 30)
    desk.slack.fail_next(1, "status", 503)
    desk.slack.fail_next(1, "hang", 4)  # longer than the 2 s client timeout
    conversation_id = await line_asks_for_a_person(desk)
    for text in ("一つ目", "二つ目", "三つ目"):
        await desk.line.post(desk.line.text(text))
        await desk.settle()
    assert desk.slack.roots() == []
    desk.clock.advance(seconds=20)  # still inside Retry-After
    await desk.settle()
    assert desk.slack.roots() == []
    for _ in range(5):
        desk.clock.advance(seconds=15)
        await desk.settle()
    root = desk.root_of(conversation_id)
    assert root.ts is not None
    thread = [c.text for c in desk.slack.thread(root.ts)]
    assert [t.split(":* ")[1] for t in thread] == ["一つ目", "二つ目", "三つ目"]
    async with desk.services.sessions() as s:
        errors = [p.last_error for p in (await s.exec(select(SlackPost))).all()]
    assert all(e is None for e in errors)
    # The customer's own messages never waited for Slack.
    assert JA["already_queued"] in desk.line_api.all_texts()


async def test_a_refused_post_is_recorded_not_retried(desk: Desk) -> None:
    desk.slack.fail_next(1, "error", "channel_not_found")
    conversation_id = await line_asks_for_a_person(desk)
    desk.clock.advance(hours=1)
    await desk.settle()
    assert desk.slack.requests == 1
    async with desk.services.sessions() as s:
        (post,) = (await s.exec(select(SlackPost))).all()
    assert post.status == "failed" and "channel_not_found" in (post.last_error or "")
    assert post.conversation_id == conversation_id


async def test_full_transcript_on_request(desk: Desk) -> None:
    conversation_id = await line_asks_for_a_person(desk)
    root = desk.root_of(conversation_id)
    assert root.ts is not None
    await desk.click(TRANSCRIPT, conversation_id, root.ts, "UALICE")
    await desk.settle()
    (post,) = desk.slack.thread(root.ts)
    assert post.text.startswith("*Full transcript*")
    assert "パスワードをお忘れの方" in post.text and "*山田 花子:* オペレーター" in post.text


async def test_queue_and_stats_commands(desk: Desk) -> None:
    first = await line_asks_for_a_person(desk)
    desk.clock.advance(minutes=5)
    r = await desk.client.post("/api/chat/sessions", json={"locale": "en"})
    auth = {"Authorization": f"Bearer {(await r.json())['token']}"}
    await desk.client.post("/api/chat/messages", json={"text": "agent"}, headers=auth)
    await desk.settle()
    second = await desk_conversation(desk)
    assert EN["queue_position"].format(position=2) in await web_texts(desk, auth)
    desk.clock.advance(minutes=2)
    queue = await desk.command("queue")
    lines = queue.splitlines()
    assert lines[0] == "*2 waiting*, oldest first:"
    assert lines[1].startswith(f"• *#{first}* waiting 7m 00s (line) <https://slack.com/archives/")
    assert lines[2].startswith(f"• *#{second}* waiting 2m 00s (web)")

    root = desk.root_of(first)
    assert root.ts is not None
    await desk.reply("UALICE", "お待たせしました", root.ts)
    await desk.settle()
    stats = await desk.command("stats")
    assert "2 conversations, 2 handed off, 1 answered" in stats
    assert stats.endswith("median first response 7m 00s")
    assert (await desk.command("help")).startswith("`/helpdesk queue`")


async def web_texts(desk: Desk, auth: dict[str, str]) -> list[str]:
    r = await desk.client.get("/api/chat/messages", headers=auth)
    return [m["text"] for m in (await r.json())["messages"]]


async def test_resolve_command_needs_a_case_when_unclear(desk: Desk) -> None:
    conversation_id = await line_asks_for_a_person(desk)
    assert (await desk.command("resolve")).startswith("Which case?")
    assert await desk.command(f"resolve #{conversation_id}") == (
        f"Case #{conversation_id} is resolved; the customer was told."
    )
    assert (
        await desk.command(f"resolve {conversation_id}") == f"Case #{conversation_id} is not open."
    )


async def test_unclaimed_case_is_raised_again(desk: Desk) -> None:
    conversation_id = await line_asks_for_a_person(desk)
    root = desk.root_of(conversation_id)
    assert root.ts is not None and desk.services.slack is not None
    reminders = desk.services.slack.desk
    assert await reminders.remind_unclaimed() == 0
    desk.clock.advance(minutes=10)
    assert await reminders.remind_unclaimed() == 1
    assert await reminders.remind_unclaimed() == 0  # not twice for one period
    await desk.settle()
    (raised,) = desk.slack.thread(root.ts)
    assert raised.args.get("reply_broadcast") is True
    assert f"Case #{conversation_id} has waited 10 min" in raised.text
    desk.clock.advance(minutes=10)
    assert await reminders.remind_unclaimed() == 1
    await desk.click(CLAIM, conversation_id, root.ts, "UALICE")
    desk.clock.advance(minutes=30)
    assert await reminders.remind_unclaimed() == 0


async def test_url_verification_answers_the_challenge(desk: Desk) -> None:
    body = json.dumps({"token": "t", "challenge": "abc123", "type": "url_verification"}).encode()
    r = await desk.send(body, "application/json")
    assert r.status == 200 and (await r.json())["challenge"] == "abc123"


async def test_business_hours_tell_the_customer_when_a_person_will_reply(
    aiohttp_client: ClientMaker, aiohttp_server: ServerMaker, database: Database, faq_dir: Path
) -> None:
    # Monday 18:00 in Tokyo (09:00 UTC): just closed; Tuesday is a holiday.
    clock = ManualClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    desk = await make_desk(
        aiohttp_client, aiohttp_server, database, faq_dir, clock,
        HELPDESK_BUSINESS_HOURS="mon-fri 09:00-12:00,13:00-18:00",
        HELPDESK_HOLIDAYS="2026-11-03", HELPDESK_UNCLAIMED_REMINDER_MINUTES="15",
    )  # fmt: skip
    try:
        conversation_id = await line_asks_for_a_person(desk)
        expected = JA["outside_hours"].format(opens="11月4日(水) 9:00")
        assert expected in desk.line_api.all_texts()
        assert JA["queue_position"].format(position=1) not in desk.line_api.all_texts()
        assert desk.services.slack is not None
        reminders = desk.services.slack.desk
        clock.advance(hours=10)  # overdue, but nobody is at work to claim it
        assert await reminders.remind_unclaimed() == 0
        clock.now = datetime(2026, 11, 4, 0, 5, tzinfo=UTC)  # Wednesday 09:05 in Tokyo
        assert await reminders.remind_unclaimed() == 1
        await desk.settle()
        root = desk.root_of(conversation_id)
        assert root.ts is not None
        assert "has waited 2345 min" in desk.slack.thread(root.ts)[-1].text

        # Inside hours a web customer hears their place in the queue.
        r = await desk.client.post("/api/chat/sessions", json={"locale": "en"})
        auth = {"Authorization": f"Bearer {(await r.json())['token']}"}
        await desk.client.post("/api/chat/messages", json={"text": "human"}, headers=auth)
        await desk.settle()
        assert EN["queue_position"].format(position=2) in await web_texts(desk, auth)
    finally:
        await desk.client.close()


# -- found by the fuzz run (tests/test_fuzz_api.py): each of these was a 500 ------------


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"{not json", "application/json", "body is not a Slack payload"),
        (b"\xff\xfe{}", "application/json", "body is not UTF-8"),
        (b"[" * 60_000, "application/json", "body is not a Slack payload: body is nested"),
        (b"[1, 2]", "application/json", "body is not a Slack payload: expected a JSON object"),
        (b'"text"', "application/json", "body is not a Slack payload: expected a JSON object"),
        (b'{"type": "event_callback", "event": null}', "application/json",
         "body is not a Slack payload: body.event must be an object"),
        (b'{"type": "event_callback", "event": {"type": "message", "message": []}}',
         "application/json", "body is not a Slack payload: body.event.message must be"),
        (b'{"type": "url_verification", "challenge": null}', "application/json",
         "body is not a Slack payload: body.challenge must be a string"),
        (b'{"type": "event_callback", "event": {"type": "message"}, "event_id": [null]}',
         "application/json", "body is not a Slack payload: body.event_id must be a string"),
        (b'{"type": "event_callback", "event": {"type": "message", "text": "a\\u0000"}}',
         "application/json", "body is not a Slack payload: text contains a NUL"),
        (b"payload=%7Bnot+json", "application/x-www-form-urlencoded",
         "body is not a Slack payload"),
        (b"payload=%7B%22actions%22%3A+5%7D", "application/x-www-form-urlencoded",
         "body is not a Slack payload: body.actions must be an array"),
        (b"payload=%7B%22type%22%3A+%22block_actions%22%2C+%22actions%22%3A+%5B%5D%7D",
         "application/x-www-form-urlencoded",
         "body is not a Slack payload: body.actions must hold at least one"),
        # found by the fuzzer: Bolt's matcher read the missing action_id and answered 500
        (b"payload=%7B%22type%22%3A+%22block_actions%22%2C+%22actions%22%3A+%5B%7B%7D%5D%7D",
         "application/x-www-form-urlencoded",
         "body is not a Slack payload: body.actions[0].action_id must be a string"),
        (b"command=%2Fhelpdesk&text=queue", "application/json; charset=no-such-charset",
         "body is not a Slack payload"),
    ],
)  # fmt: skip
async def test_signed_bodies_slack_never_sends_are_refused_with_400(
    desk: Desk, body: bytes, content_type: str, reason: str
) -> None:
    r = await desk.send(body, content_type)
    assert r.status == 400
    assert (await r.json())["error"].startswith(reason)
    assert desk.slack.calls == []


@pytest.mark.parametrize(
    ("timestamp", "signature", "reason"),
    [
        ("soon", "v0=00", "invalid request"),
        ("１７９０", "v0=00", "invalid request: the X-Slack-Request-Timestamp header is not ASCII"),
        ("1", "v0=é", "invalid request: the X-Slack-Signature header is not ASCII"),
        ("9" * 5000, "v0=00", "invalid request"),
    ],
)
async def test_an_odd_timestamp_or_signature_is_refused_with_401(
    desk: Desk, timestamp: str, signature: str, reason: str
) -> None:
    # slack_sdk's verifier took int() of the timestamp; a broken body was parsed before
    # the signature was checked at all.
    r = await desk.send(b"{not json", "application/json", timestamp=timestamp, signature=signature)
    assert r.status == 401
    assert (await r.json()) == {"error": reason}


async def test_an_oversized_request_is_a_json_413(desk: Desk) -> None:
    too_big = desk.services.settings.limits.webhook_body_bytes + 1
    r = await desk.send(b"x" * too_big, "application/x-www-form-urlencoded")
    assert r.status == 413
    assert (await r.json())["error"].startswith("request body is too large")


async def test_case_buttons_without_a_case_number_or_a_user_do_nothing(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    conversation_id = await line_asks_for_a_person(desk)
    root = desk.root_of(conversation_id)
    assert root.ts is not None
    for value in ("abc", "²", "9" * 40, "2147483648", "0"):
        payload = {
            "type": "block_actions", "user": {"id": "UALICE"},
            "actions": [{"action_id": CLAIM, "value": value}],
        }  # fmt: skip
        r = await desk.send(
            urllib.parse.urlencode({"payload": json.dumps(payload)}).encode(),
            "application/x-www-form-urlencoded",
        )
        assert r.status == 200, value
    no_user = {"type": "block_actions", "actions": [{"action_id": RESOLVE, "value": "1"}]}
    r = await desk.send(
        urllib.parse.urlencode({"payload": json.dumps(no_user)}).encode(),
        "application/x-www-form-urlencoded",
    )
    assert r.status == 200
    handoff = await desk.handoff(conversation_id)
    assert handoff.agent_ref is None and handoff.closed_at is None
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_resolve_command_with_a_number_no_case_can_have(desk: Desk) -> None:
    for number in ("9223372036854775808", "2147483648", "0"):
        assert await desk.command(f"resolve #{number}") == f"There is no case #{number}."


async def test_a_retry_whose_event_id_is_not_a_string_is_a_400(desk: Desk) -> None:
    # found by the fuzz suite: the retry lookup sent the list to the database (500)
    body = b'{"type": "event_callback", "event": {"type": "message"}, "event_id": [null]}'
    r = await desk.send(body, "application/json", headers={"X-Slack-Retry-Num": "1"})
    assert r.status == 400
    assert "body.event_id must be a string" in (await r.json())["error"]
