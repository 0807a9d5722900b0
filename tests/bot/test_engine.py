"""The conversation engine end to end: real database, real FAQ, in-memory channel."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import col, func, select

from bot.events import (
    ConversationResolved,
    CustomerMessageDuringHandoff,
    FaqAnswered,
    HandoffRequested,
)
from bot.models import (
    Conversation,
    ConversationStatus,
    Handoff,
    Message,
    Resolution,
    UnansweredQuestion,
)
from bot.texts import DEFAULT_TEXTS
from faq.decision import Thresholds
from handoff.queue import waiting_cases
from tests.bot.conftest import Harness, make_harness
from tests.conftest import Database

JA = DEFAULT_TEXTS["ja"]
EN = DEFAULT_TEXTS["en"]


async def conversation(h: Harness, conversation_id: int | None) -> Conversation:
    async with h.sessions() as s:
        row = await s.get(Conversation, conversation_id)
        assert row is not None
        return row


async def test_japanese_question_gets_the_faq_answer_and_did_it_help(harness: Harness) -> None:
    result = await harness.say("パスワード忘れちゃった")
    answer, ask = result.replies
    assert "パスワードをお忘れの方" in answer.text
    assert ask.text == JA["did_it_help"]
    assert [b.postback for b in ask.buttons] == [
        "helpful:yes:password-reset",
        "helpful:no:password-reset",
    ]
    assert result.customer_message is not None
    assert result.customer_message.text == "パスワード忘れちゃった"
    async with harness.sessions() as s:
        stored = (await s.exec(select(Message).where(Message.id == answer.message_id))).one()
    assert stored.faq_entry_id == "password-reset"
    assert stored.faq_score is not None and 0 < stored.faq_score <= 1
    assert any(isinstance(e, FaqAnswered) for e in harness.events)


async def test_half_width_katakana_is_understood(harness: Harness) -> None:
    result = await harness.say("ﾊﾟｽﾜｰﾄﾞ 忘れた")
    assert "パスワードをお忘れの方" in result.replies[0].text


async def test_english_question_gets_english_answer_and_english_sentences(
    harness: Harness,
) -> None:
    result = await harness.say("how can I export my notes")
    assert "Export" in result.replies[0].text
    assert result.replies[1].text == EN["did_it_help"]
    conv = await conversation(harness, result.conversation_id)
    assert conv.locale == "en"


async def test_replies_are_delivered_through_the_outbox_in_order(harness: Harness) -> None:
    result = await harness.say("パスワード忘れた")
    assert harness.channel.sent == []  # queued, not sent inline
    await harness.outbox.dispatch_once()
    await harness.outbox.dispatch_once()
    assert harness.channel.texts() == [m.text for m in result.replies]
    recipient = harness.channel.sent[0][0]
    assert recipient.external_id == "cust-1" and recipient.channel == "memory"


async def test_yes_resolves_as_self_service(harness: Harness) -> None:
    first = await harness.say("パスワード忘れた")
    yes = first.replies[1].buttons[0]
    result = await harness.say(postback=yes.postback)
    assert result.customer_message is not None
    assert result.customer_message.text == yes.label  # the transcript shows what was tapped
    assert result.replies[0].text == JA["glad_it_helped"]
    conv = await conversation(harness, first.conversation_id)
    assert conv.status == ConversationStatus.RESOLVED
    assert conv.resolution == Resolution.SELF
    assert conv.closed_at == harness.clock()
    resolved = [e for e in harness.events if isinstance(e, ConversationResolved)]
    assert [e.resolution for e in resolved] == [Resolution.SELF]


async def test_asking_for_a_person_queues_a_handoff(harness: Harness) -> None:
    result = await harness.say("オペレーターと話したい")
    assert result.replies[-1].text == JA["handoff_requested"]
    conv = await conversation(harness, result.conversation_id)
    assert conv.status == ConversationStatus.WAITING
    handoffs = [e for e in harness.events if isinstance(e, HandoffRequested)]
    assert [e.reason for e in handoffs] == ["customer_request"]
    async with harness.sessions() as s:
        queue = await waiting_cases(s)
    assert [c.conversation_id for c in queue] == [result.conversation_id]
    assert queue[0].last_customer_text == "オペレーターと話したい"


async def test_english_request_for_a_human(harness: Harness) -> None:
    result = await harness.say("I want to talk to a human please")
    assert result.replies[-1].text == EN["handoff_requested"]


async def test_nothing_fits_hands_off(harness: Harness) -> None:
    result = await harness.say("駐車場の営業時間と最寄りのバス停を知りたいです")
    assert result.replies[-1].text == JA["handoff_no_match"]
    handoffs = [e for e in harness.events if isinstance(e, HandoffRequested)]
    assert [e.reason for e in handoffs] == ["no_match"]


async def test_not_helpful_twice_hands_off(harness: Harness) -> None:
    first = await harness.say("有料プランの料金と解約")
    # Whatever was answered or offered, reject answers until the bot gives up.
    no_buttons = [
        b for m in first.replies for b in m.buttons if b.postback.startswith("helpful:no")
    ]
    if not no_buttons:  # it offered choices: pick the first entry
        pick = first.replies[-1].buttons[0]
        shown = await harness.say(postback=pick.postback)
        no_buttons = [b for b in shown.replies[-1].buttons if b.postback.startswith("helpful:no")]
    second = await harness.say(postback=no_buttons[0].postback)
    conv = await conversation(harness, first.conversation_id)
    assert conv.not_helpful_count == 1
    if conv.status != ConversationStatus.WAITING:
        # It offered alternatives, excluding the entry that did not help.
        offered = [b.postback for b in second.replies[-1].buttons]
        assert offered[-1] == "human"
        shown = await harness.say(postback=offered[0])
        no = [b for b in shown.replies[-1].buttons if b.postback.startswith("helpful:no")]
        third = await harness.say(postback=no[0].postback)
        assert third.replies[-1].text == JA["handoff_not_helpful"]
    conv = await conversation(harness, first.conversation_id)
    assert conv.status == ConversationStatus.WAITING
    reasons = [e.reason for e in harness.events if isinstance(e, HandoffRequested)]
    assert reasons == ["not_helpful"]


async def test_unsure_match_offers_choices_and_a_choice_answers(
    database: Database, faq_dir: Path
) -> None:
    # An answer threshold above 1 can never be met, so every match becomes a choice.
    async for h in make_harness(database, faq_dir, Thresholds(answer=1.01, suggest=0.0)):
        result = await h.say("パスワード忘れた")
        offer = result.replies[0]
        assert offer.text == JA["suggest_intro"]
        assert offer.buttons[0].postback == "faq:password-reset"
        assert offer.buttons[-1].postback == "human"
        assert 2 <= len(offer.buttons) <= 4
        shown = await h.say(postback=offer.buttons[0].postback)
        assert "パスワードをお忘れの方" in shown.replies[0].text


async def test_messages_during_handoff_skip_the_faq(harness: Harness) -> None:
    first = await harness.say("オペレーター")
    second = await harness.say("パスワード忘れた")
    assert [m.text for m in second.replies] == [JA["already_queued"]]
    third = await harness.say("まだですか")
    assert third.replies == ()
    during = [e for e in harness.events if isinstance(e, CustomerMessageDuringHandoff)]
    assert len(during) == 2
    assert first.conversation_id == second.conversation_id == third.conversation_id


async def test_solved_closes_and_next_message_opens_a_new_conversation(
    harness: Harness,
) -> None:
    first = await harness.say("パスワード忘れた")
    done = await harness.say("解決しました")
    assert done.replies[0].text == JA["resolved_by_customer"]
    conv = await conversation(harness, first.conversation_id)
    assert conv.status == ConversationStatus.RESOLVED
    assert conv.resolution == Resolution.SELF  # the bot had answered
    harness.clock.advance(minutes=1)
    again = await harness.say("料金プランを教えて")
    assert again.conversation_id != first.conversation_id
    assert "600円" in again.replies[0].text


async def test_negated_solved_is_not_solved(harness: Harness) -> None:
    await harness.say("パスワード忘れた")
    result = await harness.say("解決しない")
    conv = await conversation(harness, result.conversation_id)
    assert conv.status != ConversationStatus.RESOLVED


async def test_redelivered_event_is_processed_once(harness: Harness) -> None:
    first = await harness.say("パスワード忘れた", event_id="ev-1")
    again = await harness.say("パスワード忘れた", event_id="ev-1")
    assert not first.duplicate and again.duplicate
    assert again.replies == ()
    async with harness.sessions() as s:
        count = (await s.exec(select(func.count()).select_from(Message))).one()
    assert count == 3  # the question, the answer, "did this help?"


async def test_explicit_locale_wins_over_detection(harness: Harness) -> None:
    result = await harness.say("how do I export my notes", locale="ja")
    assert result.replies[1].text == JA["did_it_help"]
    assert "Export" in result.replies[0].text  # the English entry still answers


async def test_customers_are_kept_apart(harness: Harness) -> None:
    a = await harness.say("オペレーター", who="a")
    b = await harness.say("パスワード忘れた", who="b")
    assert a.conversation_id != b.conversation_id
    assert "パスワードをお忘れの方" in b.replies[0].text
    async with harness.sessions() as s:
        handoffs = (await s.exec(select(Handoff).order_by(col(Handoff.id)))).all()
    assert [x.conversation_id for x in handoffs] == [a.conversation_id]


async def test_stale_or_forged_postback_is_answered_politely(harness: Harness) -> None:
    result = await harness.say(postback="faq:no-such-entry")
    assert result.replies[0].text == JA["unknown_button"]
    result = await harness.say(postback="rm -rf")
    assert result.replies[-1].text == JA["unknown_button"]


async def unanswered(h: Harness) -> list[UnansweredQuestion]:
    async with h.sessions() as s:
        query = select(UnansweredQuestion).order_by(col(UnansweredQuestion.id))
        return list((await s.exec(query)).all())


async def test_unmatched_question_is_logged_as_unanswered(harness: Harness) -> None:
    await harness.say("駐車場の営業時間と最寄りのバス停を知りたいです")
    (row,) = await unanswered(harness)
    assert row.text == "駐車場の営業時間と最寄りのバス停を知りたいです"
    assert row.reason == "no_match" and row.locale == "ja"
    assert all(set(c) == {"id", "score"} for c in row.candidates)


async def test_not_helpful_logs_the_question_once(harness: Harness) -> None:
    first = await harness.say("パスワード忘れた")
    no = first.replies[1].buttons[1].postback
    await harness.say(postback=no)
    rows = await unanswered(harness)
    assert [(r.text, r.reason) for r in rows] == [("パスワード忘れた", "not_helpful")]
    assert rows[0].candidates[0]["id"] == "password-reset"
    await harness.say("オペレーター")  # the same question now ends in a handoff
    assert len(await unanswered(harness)) == 1


async def test_asking_for_a_person_logs_the_question_before_it(harness: Harness) -> None:
    await harness.say("オペレーター", who="direct")
    assert await unanswered(harness) == []  # no question was asked
    await harness.say("料金プランを教えて", who="asker")
    await harness.say("人と話したい", who="asker")
    (row,) = await unanswered(harness)
    assert (row.text, row.reason) == ("料金プランを教えて", "customer_request")
