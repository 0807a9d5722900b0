"""An engine wired to a real database, a real FAQ and an in-memory channel."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db import SessionFactory, make_engine, make_session_factory, upgrade
from bot.engine import Engine, HandleResult
from bot.event_outbox import EventOutbox, Subscription
from bot.events import DomainEvent
from bot.messages import Inbound
from bot.metrics import Metrics
from bot.outbox import OutboxDispatcher
from bot.texts import Texts
from faq.decision import Thresholds
from faq.library import FaqLibrary
from tests.conftest import Database
from tests.fakes.clock import ManualClock
from tests.fakes.memory_channel import MemoryChannel


@dataclass
class Harness:
    engine: Engine
    sessions: SessionFactory
    outbox: OutboxDispatcher
    channel: MemoryChannel
    clock: ManualClock
    events: list[DomainEvent]
    faq: FaqLibrary
    metrics: Metrics
    event_outbox: EventOutbox
    db: AsyncEngine

    async def say(
        self, text: str | None = None, *, postback: str | None = None, who: str = "cust-1",
        event_id: str | None = None, locale: str | None = None,
    ) -> HandleResult:  # fmt: skip
        return await self.engine.handle(
            Inbound(
                channel="memory",
                customer_ref=who,
                received_at=self.clock(),
                text=text,
                postback=postback,
                event_id=event_id,
                locale=locale,
            )
        )


@pytest.fixture
async def harness(database: Database, faq_dir: Path) -> AsyncIterator[Harness]:
    async for h in make_harness(database, faq_dir, Thresholds()):
        yield h


async def make_harness(
    database: Database, faq_dir: Path, thresholds: Thresholds
) -> AsyncIterator[Harness]:
    log = logging.getLogger("test")
    db = make_engine(database.url, database.schema)
    await upgrade(db)
    sessions = make_session_factory(db)
    faq = FaqLibrary(faq_dir, log)
    await faq.load()
    clock = ManualClock()
    event_outbox = EventOutbox(sessions, clock, log)
    events: list[DomainEvent] = []

    async def record(session: AsyncSession, event: DomainEvent) -> None:
        events.append(event)

    event_outbox.subscribe(Subscription("recorder", (DomainEvent,), record))
    channel = MemoryChannel()
    metrics = Metrics.create()
    outbox = OutboxDispatcher(sessions, {"memory": channel}, clock, log, metrics=metrics)
    engine = Engine(
        sessions=sessions, faq=faq, texts=Texts.load(None), events=event_outbox, clock=clock,
        thresholds=thresholds, default_locale="ja", on_outbox=outbox.notify, logger=log,
        metrics=metrics,
    )  # fmt: skip
    try:
        yield Harness(
            engine, sessions, outbox, channel, clock, events, faq, metrics, event_outbox, db
        )
    finally:
        await db.dispose()
