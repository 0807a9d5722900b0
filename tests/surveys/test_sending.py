"""Planning and sending surveys through the real app: due time, once, LINE and web."""

from __future__ import annotations

import asyncio
import inspect
import logging
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import update
from sqlmodel import col, select

from bot.app import survey_policy
from bot.models import Conversation, Identity, Message, SurveyKind, SurveyStatus
from bot.texts import DEFAULT_TEXTS, Texts
from surveys.dispatcher import SurveyDispatcher
from surveys.policy import SurveyPolicy
from surveys.timer import DUE_JOB
from tests.channels.slack_desk import Desk
from tests.surveys.conftest import line_resolves, quick_replies, settle, surveys, tick, web_resolves

JA = DEFAULT_TEXTS["ja"]


async def test_line_survey_is_sent_at_the_due_time_exactly_once(desk: Desk) -> None:
    await line_resolves(desk)
    (planned,) = await surveys(desk)
    assert planned.status == SurveyStatus.PLANNED
    # A customer's first survey is the NPS question (none in the last 90 days).
    assert planned.kind == SurveyKind.NPS
    pushes_before = len(desk.line_api.pushes())

    desk.clock.advance(minutes=9, seconds=59)
    assert await tick(desk) == 0
    assert len(desk.line_api.pushes()) == pushes_before

    desk.clock.advance(seconds=1)
    sent_at = desk.clock()
    assert await tick(desk) == 1
    (push,) = desk.line_api.pushes()[pushes_before:]
    (message,) = push.messages
    assert message["text"] == JA["survey_nps_question"]
    survey_id = planned.id
    assert quick_replies(message) == [(str(n), f"survey:{survey_id}:{n}") for n in range(11)]

    desk.clock.advance(minutes=30)
    assert await tick(desk) == 0
    assert len(desk.line_api.pushes()) == pushes_before + 1
    (sent,) = await surveys(desk)
    assert sent.status == SurveyStatus.SENT and sent.sent_at == sent_at
    assert sent.expires_at is not None and sent.message_id is not None


async def test_a_second_dispatcher_does_not_double_a_survey(desk: Desk) -> None:
    await line_resolves(desk)
    desk.clock.advance(minutes=10)
    services = desk.services
    # Another replica (or this one after a restart) ticking at the same moment.
    other = SurveyDispatcher(
        services.sessions, _texts(desk), _policy(desk), desk.clock, services.outbox.notify,
        logging.getLogger("test"),
    )  # fmt: skip
    claimed = await asyncio.gather(services.surveys.tick(), other.tick(), other.tick())
    assert sum(claimed) == 1
    await settle(desk)
    questions = [c for c in desk.line_api.pushes() if c.texts == [JA["survey_nps_question"]]]
    assert len(questions) == 1
    async with services.sessions() as s:
        rows = (await s.exec(select(Message).where(Message.decision == "survey"))).all()
    assert len(rows) == 1


async def test_web_survey_arrives_on_the_socket_and_in_history(desk: Desk) -> None:
    client: TestClient[Any, Any] = desk.client
    auth, ws = await web_resolves(desk)
    desk.clock.advance(minutes=10)
    assert await tick(desk) == 1
    question = DEFAULT_TEXTS["en"]["survey_nps_question"]
    async with asyncio.timeout(5):
        while True:
            frame = await ws.receive_json()
            if frame.get("type") == "message" and frame["message"]["text"] == question:
                break
    assert len(frame["message"]["buttons"]) == 11
    history = (await (await client.get("/api/chat/messages", headers=auth)).json())["messages"]
    assert [m["text"] for m in history].count(question) == 1
    survey_id = (await surveys(desk))[0].id
    r = await client.post(
        "/api/chat/messages", json={"postback": f"survey:{survey_id}:10"}, headers=auth
    )
    replies = [m["text"] for m in (await r.json())["messages"]]
    assert replies[0] == DEFAULT_TEXTS["en"]["survey_thanks"]
    assert replies[-1] == DEFAULT_TEXTS["en"]["survey_follow_up"]
    (answered,) = await surveys(desk)
    assert (answered.status, answered.score) == (SurveyStatus.ANSWERED, 10)
    await ws.close()


def _texts(desk: Desk) -> Texts:
    return Texts.load(desk.services.settings.texts_file)


def _policy(desk: Desk) -> SurveyPolicy:
    return survey_policy(desk.services.settings)


async def test_the_app_scheduler_ticks_surveys(desk: Desk) -> None:
    job = desk.services.scheduler.get_job("surveys")
    assert job is not None and job.coalesce and job.max_instances == 1
    # Wrapped so a database outage is one warning per tick (bot.db_outage).
    assert inspect.unwrap(job.func) == desk.services.surveys.tick


def minutes_until_due_tick(desk: Desk) -> float | None:
    """How far ahead (real time) the scheduler's due-time survey tick is set."""
    job = desk.services.scheduler.get_job(DUE_JOB)
    if job is None or job.next_run_time is None:
        return None
    return float((job.next_run_time - datetime.now(UTC)).total_seconds() / 60)


async def test_the_ticker_is_set_for_the_next_planned_survey(desk: Desk) -> None:
    # Planning a survey sets a tick at its due time, ten minutes on (the delay).
    await line_resolves(desk)
    ahead = minutes_until_due_tick(desk)
    assert ahead is not None and 9 < ahead <= 10
    # A second customer's survey, due five minutes later, leaves the earlier tick alone.
    desk.clock.advance(minutes=5)
    await line_resolves(desk, user="U" + "b" * 32)
    ahead = minutes_until_due_tick(desk)
    assert ahead is not None and 9 < ahead <= 10

    # The tick at the first one's due time (run by hand: the scheduler is paused, and a
    # date job that has fired is gone) sends it and sets the next for the second's.
    desk.services.scheduler.remove_job(DUE_JOB)
    desk.clock.advance(minutes=5)
    assert await tick(desk) == 1
    ahead = minutes_until_due_tick(desk)
    assert ahead is not None and 4 < ahead <= 5

    desk.services.scheduler.remove_job(DUE_JOB)
    desk.clock.advance(minutes=5)
    assert await tick(desk) == 1
    assert minutes_until_due_tick(desk) is None  # nothing planned: only the interval tick


USERS = ["U" + c * 32 for c in "abc"]


async def survey_questions_to(desk: Desk, pushes_before: int) -> list[str | None]:
    """Who got a survey question since `pushes_before` pushes."""
    questions = {JA["survey_nps_question"], JA["survey_csat_question"]}
    return [
        c.to for c in desk.line_api.pushes()[pushes_before:] if questions & set(c.texts)
    ]


class BrokenEnglish(Texts):
    """Texts that fail for one locale, as a bug in one row's data would."""

    def get(self, key: str, locale: str) -> str:
        if locale == "en":
            raise RuntimeError("no text for this row")
        return super().get(key, locale)


async def test_one_bad_survey_is_skipped_and_the_rest_of_its_batch_sent(desk: Desk) -> None:
    for user in USERS:
        await line_resolves(desk, user=user)
    _, broken, _ = await surveys(desk)
    async with desk.services.sessions() as s, s.begin():
        await s.exec(update(Identity).where(col(Identity.external_id) == USERS[0])
                     .values(blocked_at=desk.clock()))  # fmt: skip
        await s.exec(update(Conversation).where(col(Conversation.id) == broken.conversation_id)
                     .values(locale="en"))  # fmt: skip
    services = desk.services
    dispatcher = SurveyDispatcher(
        services.sessions, BrokenEnglish(_texts(desk).table), _policy(desk), desk.clock,
        services.outbox.notify, logging.getLogger("test"),
    )  # fmt: skip
    pushes_before = len(desk.line_api.pushes())
    desk.clock.advance(minutes=10)
    # One batch: the three are claimed together, the bad one fails it, and each row is
    # then tried on its own.
    assert await dispatcher.send_due_once() == 3
    await settle(desk)
    outcome = [(s.status, s.skip_reason) for s in await surveys(desk)]
    assert outcome == [
        (SurveyStatus.SKIPPED, "blocked_identity"),
        (SurveyStatus.SKIPPED, "send_error"),
        (SurveyStatus.SENT, None),
    ]
    assert await survey_questions_to(desk, pushes_before) == [USERS[2]]


async def test_two_due_surveys_of_one_linked_customer_send_one(desk: Desk) -> None:
    await line_resolves(desk, user=USERS[0])
    await line_resolves(desk, user=USERS[1])
    first, second = await surveys(desk)
    # Linking moved the second conversation to the first customer after both surveys
    # were planned: they are claimed in one batch (their rows' customers differ) and
    # the send-time check must see the first one go out.
    async with desk.services.sessions() as s, s.begin():
        await s.exec(update(Conversation).where(col(Conversation.id) == second.conversation_id)
                     .values(customer_id=first.customer_id))  # fmt: skip
    pushes_before = len(desk.line_api.pushes())
    desk.clock.advance(minutes=10)
    assert await tick(desk) == 2
    outcome = [(s.status, s.skip_reason) for s in await surveys(desk)]
    assert outcome == [(SurveyStatus.SENT, None), (SurveyStatus.SKIPPED, "surveyed_recently")]
    assert await survey_questions_to(desk, pushes_before) == [USERS[0]]
