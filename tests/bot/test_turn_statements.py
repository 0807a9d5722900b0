"""A turn's SQL statement budget: the statements and transactions `Engine.handle` runs
for each kind of turn, event deliveries after the commit included. A change that makes a
turn read or write more fails here; lower a budget when a turn gets leaner.

Both databases write a turn's messages in one INSERT and its outbox rows in another. A
turn with two events costs SQLite one statement more: the ORM writes event rows one by
one there, since SQLite does not promise to return several rows' ids in order.
"""

from __future__ import annotations

import logging
from datetime import UTC, timedelta

from sqlmodel import select

from bot.engine import Engine
from bot.messages import Inbound
from bot.models import Message, Outbox
from bot.returning import ReturningCustomers
from bot.statement_count import StatementCount
from bot.texts import Texts
from faq.decision import Thresholds
from tests.bot.conftest import Harness

# turn: (PostgreSQL budget, SQLite budget); the targets are at most 6 for an FAQ
# answer and 12 for a handoff
BUDGETS = {
    # identity with its open conversation (one query), the customer's message and the two
    # replies, their outbox rows, the FaqAnswered event row; then its delivery
    "faq answer": (5, 5),
    # a new customer: customer and identity in a savepoint, the conversation, and a second
    # event (ConversationOpened); with returning customers remembered (the server's
    # default), one more query for the customer's last case (tested below)
    "first faq answer": (11, 12),
    # last question, unanswered check, conversation status, handoff, unanswered row
    "handoff": (10, 10),
    # the queue notice is said once, so the last bot message is read
    "during handoff": (7, 7),
}
TURNS = [
    ("first faq answer", "パスワードを忘れた"),
    ("faq answer", "料金プランを教えて"),
    ("handoff", "人と話したい"),
    ("during handoff", "まだですか"),
]


def _dialect(harness: Harness) -> str:
    return harness.db.dialect.name


async def test_each_turn_stays_within_its_statement_budget(harness: Harness) -> None:
    postgres = _dialect(harness) == "postgresql"
    spent: dict[str, tuple[int, int]] = {}
    with StatementCount(harness.db) as count:
        for turn, text in TURNS:
            count.reset()
            await harness.say(text)
            spent[turn] = (len(count), count.transactions)
    for turn, (statements, transactions) in spent.items():
        budget = BUDGETS[turn][0 if postgres else 1]
        assert statements <= budget, f"{turn}: {statements} statements, budget {budget}"
        # the turn's own transaction and one per event delivered after it
        assert transactions <= 3, f"{turn}: {transactions} transactions"


async def test_an_answer_writes_its_rows_once_with_no_updates(harness: Harness) -> None:
    await harness.say("パスワードを忘れた")
    with StatementCount(harness.db) as count:
        result = await harness.say("料金プランを教えて")
    turn = [s for s in count.statements if "event_delivery" not in s]
    assert not [s for s in turn if s.startswith("UPDATE")], turn
    inserts = [s for s in turn if s.startswith("INSERT")]
    if _dialect(harness) == "postgresql":
        # the three messages in one statement, the two outbox rows in another
        assert [s.split()[2] for s in inserts] == ["message", "outbox"]
    # what the rows say is what one written row each would say
    async with harness.sessions() as session:
        assert result.customer_message is not None and len(result.replies) == 2
        question = await session.get(Message, result.customer_message.message_id)
        assert question is not None and question.decision == "answer"
        for reply in result.replies:
            queued = (await session.exec(
                select(Outbox).where(Outbox.message_id == reply.message_id)
            )).all()
            assert len(queued) == 1


async def test_sending_an_answer_is_one_claiming_transaction_and_one_update(
    harness: Harness,
) -> None:
    await harness.say("パスワードを忘れた")
    with StatementCount(harness.db) as count:
        assert await harness.outbox.dispatch_once() == 1
    # The answer and "did this help?" go in one call, as before.
    assert harness.channel.calls == 1 and len(harness.channel.texts()) == 2
    # Claim the head, read it with its follower, message and recipient in one query, mark
    # the follower taken along; then record both as sent. (PostgreSQL's claim picks its
    # rows in a WITH before the UPDATE.)
    first = "WITH" if harness.db.dialect.name == "postgresql" else "UPDATE"
    assert [s.split()[0] for s in count.statements] == [first, "SELECT", "UPDATE", "UPDATE"]
    assert count.transactions == 2


async def test_remembering_returning_customers_costs_one_query_per_new_conversation(
    harness: Harness,
) -> None:
    """The returning-customer lookup runs once, when a conversation is opened; a turn in
    an open conversation costs nothing more (bot.returning)."""
    texts = Texts.load(None)
    engine = Engine(
        sessions=harness.sessions, faq=harness.faq, texts=texts, events=harness.event_outbox,
        clock=harness.clock, thresholds=Thresholds(), default_locale="ja",
        on_outbox=harness.outbox.notify, logger=logging.getLogger("test"),
        returning=ReturningCustomers(timedelta(days=7), texts, UTC),
    )  # fmt: skip
    spent: dict[tuple[str, bool], int] = {}
    with StatementCount(harness.db) as count:
        for remember in (False, True):
            handle = engine.handle if remember else harness.engine.handle
            who = f"customer-{remember}"
            for turn, text in (("opens", "パスワードを忘れた"), ("open", "料金プランを教えて")):
                count.reset()
                await handle(Inbound(channel="memory", customer_ref=who,
                                     received_at=harness.clock(), text=text))  # fmt: skip
                spent[(turn, remember)] = len(count)
    assert spent[("opens", True)] == spent[("opens", False)] + 1
    assert spent[("open", True)] == spent[("open", False)]
