"""In-process throughput and latency of `Engine.handle` with a 2,000-entry FAQ on SQLite.

    .venv/bin/python -m bench.engine [--entries 2000] [--messages 2000] [--customers 200]

Messages are questions taken from the FAQ with small edits, sent by many customers one
after another; the database is a fresh SQLite file. Prints messages/s, p50/p99 and the
SQL statements and transactions per turn (no event subscribers here, so no event rows).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import statistics
import tempfile
import time
from pathlib import Path

from bench.synthetic_faq import write_synthetic_faq
from bot.clock import utc_now
from bot.db import make_engine, make_session_factory, upgrade
from bot.engine import Engine
from bot.event_outbox import EventOutbox
from bot.messages import Inbound
from bot.statement_count import StatementCount
from bot.texts import Texts
from faq.decision import Thresholds
from faq.library import FaqLibrary


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(entries: int, messages: int, customers: int) -> None:
    log = logging.getLogger("bench")
    with tempfile.TemporaryDirectory() as tmp:
        faq_dir = Path(tmp) / "faq"
        faq_entries = write_synthetic_faq(faq_dir, entries)
        db = make_engine(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
        await upgrade(db)
        faq = FaqLibrary(faq_dir, log)
        started = time.perf_counter()
        await faq.load()
        build = time.perf_counter() - started
        sessions = make_session_factory(db)
        engine = Engine(
            sessions=sessions, faq=faq, texts=Texts.load(None),
            events=EventOutbox(sessions, utc_now, log), clock=utc_now,
            thresholds=Thresholds(), default_locale="ja",
            on_outbox=lambda: None, logger=log,
        )  # fmt: skip
        rng = random.Random(1)
        queries = [str(rng.choice(faq_entries)["question"])[:-1] for _ in range(messages)]
        latencies: list[float] = []
        per_turn: list[tuple[int, int]] = []
        wall = time.perf_counter()
        with StatementCount(db) as count:
            for i, query in enumerate(queries):
                count.reset()
                t0 = time.perf_counter()
                await engine.handle(
                    Inbound(channel="bench", customer_ref=f"c{i % customers}",
                            received_at=utc_now(), text=query)
                )  # fmt: skip
                latencies.append(time.perf_counter() - t0)
                per_turn.append((len(count), count.transactions))
        wall = time.perf_counter() - wall
        await db.dispose()
    print(f"FAQ entries: {entries}, index build: {build * 1000:.0f} ms")
    print(f"messages: {messages} from {customers} customers, sequential, SQLite file")
    print(f"throughput: {messages / wall:.0f} messages/s")
    print(
        f"latency per handle: p50 {statistics.median(latencies) * 1000:.2f} ms, "
        f"p99 {_percentile(latencies, 0.99) * 1000:.2f} ms, "
        f"max {max(latencies) * 1000:.2f} ms"
    )
    # returning customers' turns (each customer's first turn also creates them)
    returning = per_turn[customers:] or per_turn
    print(
        f"SQL per turn of a returning customer: {statistics.mean(s for s, _ in returning):.1f} "
        f"statements (max {max(s for s, _ in returning)}), "
        f"{statistics.mean(t for _, t in returning):.1f} transactions; "
        f"new customer: {statistics.mean(s for s, _ in per_turn[:customers]):.1f} statements"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--customers", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(run(args.entries, args.messages, args.customers))


if __name__ == "__main__":
    main()
