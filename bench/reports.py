"""The KPI summary over 100,000 conversations and 1,000,000 messages on PostgreSQL.

    .venv/bin/python -m bench.reports [--postgres URL] [--conversations 100000]

Fills a scratch schema with a synthetic history (90 days, 10 messages a conversation,
a fifth of them handed off) using COPY, then times `surveys.kpis.summary` for the last
30 days and for all 90, several times each, and prints the median.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

import asyncpg

from bot.db import make_engine, make_session_factory, upgrade
from surveys.kpis import summary

SCHEMA = "helpdesk_bench_reports"
NOW = datetime(2026, 11, 20, tzinfo=UTC)
DAYS = 90


async def fill(dsn: str, conversations: int, seed: int = 5) -> None:
    rng = random.Random(seed)
    conn = await asyncpg.connect(dsn, server_settings={"search_path": SCHEMA})
    customers = conversations // 3
    created = NOW - timedelta(days=DAYS + 1)
    await conn.copy_records_to_table(
        "customer", records=[(i, None, created) for i in range(1, customers + 1)],
        columns=["id", "display_name", "created_at"],
    )  # fmt: skip
    await conn.copy_records_to_table(
        "identity",
        records=[(i, i, "web", f"s{i}", created, None, None) for i in range(1, customers + 1)],
        columns=["id", "customer_id", "channel", "external_id", "created_at", "blocked_at",
                 "profile_fetched_at"],
    )  # fmt: skip
    convs, messages, handoffs = [], [], []
    message_id = 0
    for cid in range(1, conversations + 1):
        customer = rng.randint(1, customers)
        opened = NOW - timedelta(seconds=rng.uniform(0, DAYS * 86400))
        handed = rng.random() < 0.2
        resolved = rng.random() < 0.8
        closed = opened + timedelta(minutes=rng.uniform(1, 120)) if resolved else None
        resolution = ("agent" if handed else "self") if resolved else None
        status = "resolved" if resolved else ("agent" if handed else "bot")
        channel = "line" if cid % 3 == 0 else "web"
        convs.append((cid, customer, customer, channel, status, "ja", False, resolution, 0,
                      opened, closed))  # fmt: skip
        for k in range(10):
            message_id += 1
            role = "customer" if k % 2 == 0 else "bot"
            decision = "answer" if role == "bot" and k == 1 else None
            entry = f"entry-{rng.randint(1, 200)}" if decision else None
            messages.append((message_id, cid, role, "text", "[]", None, entry, None, decision,
                             opened + timedelta(seconds=k)))  # fmt: skip
        if handed:
            requested = opened + timedelta(seconds=30)
            answered = requested + timedelta(minutes=rng.uniform(1, 60))
            handoffs.append((cid, cid, "no_match", requested, answered, closed))
    await conn.copy_records_to_table(
        "conversation", records=convs,
        columns=["id", "customer_id", "identity_id", "channel", "status", "locale",
                 "locale_explicit", "resolution", "not_helpful_count", "opened_at", "closed_at"],
    )  # fmt: skip
    await conn.copy_records_to_table(
        "message", records=messages,
        columns=["id", "conversation_id", "role", "text", "buttons", "postback", "faq_entry_id",
                 "faq_score", "decision", "created_at"],
    )  # fmt: skip
    await conn.copy_records_to_table(
        "handoff", records=handoffs,
        columns=["id", "conversation_id", "reason", "requested_at", "first_response_at",
                 "closed_at"],
    )  # fmt: skip
    await conn.execute("ANALYZE")
    await conn.close()


async def main_async(url: str, conversations: int, runs: int) -> None:
    dsn = url.replace("postgresql+asyncpg", "postgresql")
    admin = await asyncpg.connect(dsn)
    await admin.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    await admin.execute(f"CREATE SCHEMA {SCHEMA}")
    engine = make_engine(url, SCHEMA)
    try:
        await upgrade(engine)
        started = time.perf_counter()
        await fill(dsn, conversations)
        print(f"filled {conversations} conversations, {conversations * 10} messages "
              f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
        sessions = make_session_factory(engine)
        for days in (30, DAYS):
            timings = []
            for _ in range(runs):
                t0 = time.perf_counter()
                async with sessions() as session:
                    report = await summary(session, NOW - timedelta(days=days), NOW, NOW)
                timings.append(time.perf_counter() - t0)
            print(f"summary over {days} days ({report.conversations} conversations): "
                  f"p50 {statistics.median(timings) * 1000:.0f} ms over {runs} runs")  # fmt: skip
    finally:
        await engine.dispose()
        await admin.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main_async(args.postgres, args.conversations, args.runs))


if __name__ == "__main__":
    main()
