"""Survey comments by hand, after the KPI tests' history: 15-21 Nov 2026 is the period
the comment tests show, 8-14 Nov the one before it; 15 Nov is the digest's day."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.db import SessionFactory
from bot.models import Customer, Identity, Survey
from tests.surveys.history import add_conversation

# (day of November, survey kind, score, comment, channel)
COMMENTS: tuple[tuple[int, str, int, str, str], ...] = (
    # Promoters: the staff's handling, in both languages.
    (15, "nps", 10, "スタッフの対応が丁寧でした", "line"),
    (15, "csat", 5, "対応が早くて助かりました", "line"),
    (16, "ces", 7, "The staff were friendly and fast", "web"),
    (17, "nps", 9, "Friendly staff, quick answer", "web"),
    # Detractors: delivery fees and late deliveries.
    (15, "nps", 2, "配送料金が高い", "line"),
    (15, "csat", 1, "配送料金が高すぎると思います", "line"),
    (18, "ces", 2, "Delivery was late again", "web"),
    (19, "nps", 4, "Late delivery and no update", "web"),
    # A passive, on its own: nothing recurs.
    (20, "nps", 8, "普通でした", "line"),
    # The day (and the week) before: one detractor on delivery fees already.
    (14, "nps", 3, "配送料金が高いです", "line"),
)


def at(day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


async def build_comment_history(sessions: SessionFactory) -> None:
    async with sessions() as s, s.begin():
        for n, (day, kind, score, comment, channel) in enumerate(COMMENTS):
            customer = Customer(display_name=f"commenter {n}", created_at=at(1))
            s.add(customer)
            await s.flush()
            assert customer.id is not None
            identity = Identity(customer_id=customer.id, channel=channel,
                                external_id=f"commenter-{n}", created_at=at(1))  # fmt: skip
            s.add(identity)
            await s.flush()
            assert identity.id is not None
            cid = await add_conversation(
                s, customer.id, identity.id, channel, at(day), closed=at(day, 11),
                resolution="self", status="resolved", answered="password-reset",
            )  # fmt: skip
            s.add(Survey(conversation_id=cid, customer_id=customer.id, channel=channel,
                         kind=kind, status="answered", due_at=at(day, 12), sent_at=at(day, 12),
                         answered_at=at(day, 13, n), score=score, comment=comment,
                         created_at=at(day, 11)))  # fmt: skip
