"""10,000 due surveys dispatched to a fake LINE API: time, rows per second, peak memory.

    .venv/bin/python -m bench.surveys [--surveys 10000] [--postgres URL]

Builds the app on a fresh SQLite file (or a scratch PostgreSQL schema) with LINE pointed
at a fake in a process of its own, inserts resolved LINE conversations whose CSAT
surveys are due, then runs the survey tick (claim, check, queue the question) and the
outbox until the fake has received every survey question.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import resource
import tempfile
import time
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path

import aiohttp
from aiohttp import web

from bench.line import drop_postgres_schema, postgres_schema
from bot.app import SERVICES, create_app
from bot.config import Settings
from bot.db import SessionFactory
from bot.models import Conversation, Customer, Identity, Message, Survey

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
FILL_CHUNK = 500


class FakeLine:
    """LINE's push and reply endpoints, counting calls; `/count` tells the bench how many."""

    def __init__(self) -> None:
        self.pushed = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v2/bot/message/push", self.push)
        app.router.add_post("/v2/bot/message/reply", self.push)
        app.router.add_get("/count", self.count)
        return app

    async def push(self, request: web.Request) -> web.Response:
        await request.read()
        self.pushed += 1
        return web.json_response({"sentMessages": [{"id": "1"}]})

    async def count(self, request: web.Request) -> web.Response:
        return web.json_response(self.pushed)


def serve_fake_line(port_out: Connection) -> None:
    """The fake in a process of its own, as LINE is: its CPU is not the server's."""

    async def serve() -> None:
        runner = web.AppRunner(FakeLine().app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port_out.send(runner.addresses[0][1])
        await asyncio.Event().wait()

    asyncio.run(serve())


async def pushed(http: aiohttp.ClientSession, base: str) -> int:
    async with http.get(f"{base}/count") as response:
        count: int = await response.json()
        return count


async def run(count: int, postgres: str | None) -> None:
    logging.getLogger().setLevel(logging.WARNING)
    port_in, port_out = multiprocessing.Pipe(duplex=False)
    fake = multiprocessing.get_context("spawn").Process(
        target=serve_fake_line, args=(port_out,), daemon=True
    )
    fake.start()
    base = f"http://127.0.0.1:{port_in.recv()}"
    http = aiohttp.ClientSession()
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "HELPDESK_DATABASE_URL": f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}",
            "LINE_CHANNEL_SECRET": "bench-line-channel-secret",
            "LINE_CHANNEL_ACCESS_TOKEN": "bench-line-access-token-0",
            "LINE_API_BASE_URL": base,
            **(await postgres_schema(postgres) if postgres else {}),
        }
        app = create_app(Settings.from_env(env), clock=lambda: NOW)
        runner = web.AppRunner(app)
        await runner.setup()  # migrations, FAQ, background loops
        services = app[SERVICES]
        services.scheduler.pause()  # the bench ticks by hand
        try:
            await fill(services.sessions, count)
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            started = time.perf_counter()
            claimed = await services.surveys.tick()
            queued = time.perf_counter() - started
            services.outbox.notify()
            async with asyncio.timeout(600):
                while (delivered := await pushed(http, base)) < count:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            total = time.perf_counter() - started
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        finally:
            await runner.cleanup()
            await http.close()
            fake.kill()
            if postgres:
                await drop_postgres_schema(postgres)
    store = "PostgreSQL" if postgres else "SQLite"
    print(f"{count} due surveys on {store}, one process")
    print(f"claimed and queued: {claimed} in {queued:.1f} s ({claimed / queued:.0f} rows/s)")
    print(f"delivered to the fake LINE API: {delivered} in {total:.1f} s "
          f"({delivered / total:.0f} surveys/s)")  # fmt: skip
    print(f"peak RSS {peak / 1024:.0f} MiB (before dispatch {rss_before / 1024:.0f} MiB)")


async def fill(sessions: SessionFactory, count: int) -> None:
    opened = NOW - timedelta(hours=1)
    # Small transactions: one long one would hold the database from the app's own loops.
    for first in range(0, count, FILL_CHUNK):
        await fill_chunk(sessions, range(first, min(first + FILL_CHUNK, count)), opened)


async def fill_chunk(sessions: SessionFactory, numbers: range, opened: datetime) -> None:
    async with sessions() as s, s.begin():
        for i in numbers:
            customer = Customer(created_at=opened)
            s.add(customer)
            await s.flush()
            assert customer.id is not None
            identity = Identity(customer_id=customer.id, channel="line",
                                external_id=f"Ubench{i:06d}", created_at=opened)  # fmt: skip
            s.add(identity)
            await s.flush()
            assert identity.id is not None
            conversation = Conversation(
                customer_id=customer.id, identity_id=identity.id, channel="line",
                status="resolved", resolution="self", locale="ja", opened_at=opened,
                closed_at=opened + timedelta(minutes=5),
            )  # fmt: skip
            s.add(conversation)
            await s.flush()
            assert conversation.id is not None
            s.add(Message(conversation_id=conversation.id, role="customer", text="q",
                          created_at=opened))  # fmt: skip
            s.add(Survey(conversation_id=conversation.id, customer_id=customer.id,
                         channel="line", kind="csat", due_at=NOW - timedelta(minutes=1),
                         created_at=opened))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--surveys", type=int, default=10_000)
    parser.add_argument("--postgres", metavar="URL", help="postgresql+asyncpg://... instead")
    args = parser.parse_args()
    asyncio.run(run(args.surveys, args.postgres))


if __name__ == "__main__":
    main()
