"""Signed LINE webhook events per second, through to the reply call on a fake LINE API.

    .venv/bin/python -m bench.line [--events 1000] [--users 100] [--concurrency 20]

Runs a fake LINE Messaging API in this process and `helpdesk serve` (SQLite file, or
PostgreSQL with --postgres; demo FAQ) as a subprocess pointed at it; posts text events
signed exactly as LINE signs them, one event per webhook call, from `--users` distinct
users; measures, per event, the time from posting the webhook to the fake receiving the
reply that answers it.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from bench.http import QUESTIONS, free_port, wait_ready

SECRET = "bench-line-channel-secret"
TOKEN = "bench-line-access-token-0"


class FakeLine:
    """Answers reply/push/profile and notes when each reply token's reply arrived."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.pushes = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v2/bot/message/reply", self.reply)
        app.router.add_post("/v2/bot/message/push", self.push)
        app.router.add_get("/v2/bot/profile/{user}", self.profile)
        return app

    async def reply(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.arrived[body["replyToken"]] = time.perf_counter()
        return web.json_response({"sentMessages": [{"id": "1"}]})

    async def push(self, request: web.Request) -> web.Response:
        self.pushes += 1
        return web.json_response({"sentMessages": [{"id": "1"}]})

    async def profile(self, request: web.Request) -> web.Response:
        return web.json_response({"displayName": "Bench", "userId": request.match_info["user"]})


def signed(event: dict[str, object]) -> tuple[bytes, str]:
    body = json.dumps({"destination": "Ubench", "events": [event]}).encode()
    signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest())
    return body, signature.decode()


async def drive(
    base: str, fake: FakeLine, events: int, users: int, concurrency: int, rate: float | None
) -> None:
    sent: dict[str, float] = {}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(events):
        queue.put_nowait(i)

    async with aiohttp.ClientSession() as http:

        started = time.perf_counter()

        async def worker() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                if rate is not None:  # paced: event i is due at i / rate seconds
                    await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
                token = f"token-{i}"
                body, signature = signed(
                    {
                        "type": "message",
                        "mode": "active",
                        "timestamp": int(time.time() * 1000),
                        "source": {"type": "user", "userId": f"Ubench{i % users:05d}"},
                        "webhookEventId": f"01BENCH{i:08d}",
                        "deliveryContext": {"isRedelivery": False},
                        "replyToken": token,
                        "message": {"id": str(i), "type": "text", "text": QUESTIONS[i % 10]},
                    }
                )
                sent[token] = time.perf_counter()
                async with http.post(
                    f"{base}/webhooks/line",
                    data=body,
                    headers={"X-Line-Signature": signature, "Content-Type": "application/json"},
                ) as r:
                    if r.status != 200:
                        raise RuntimeError(f"webhook answered {r.status}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        acked = time.perf_counter() - started
        async with asyncio.timeout(120):
            while len(fake.arrived) + fake.pushes < events:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    finished = max(fake.arrived.values()) - started
    latencies = sorted(fake.arrived[t] - sent[t] for t in fake.arrived)
    pace = f"paced at {rate:g}/s" if rate else "as fast as they are acknowledged"
    print(f"{events} signed events from {users} users, {concurrency} concurrent calls, {pace}")
    print(f"webhook acknowledged: {events / acked:.0f} events/s")
    print(f"through to the reply call: {len(fake.arrived) / finished:.0f} events/s")
    print(
        f"webhook -> reply: p50 {statistics.median(latencies) * 1000:.0f} ms, "
        f"p99 {latencies[int(0.99 * (len(latencies) - 1))] * 1000:.0f} ms; "
        f"replies {len(fake.arrived)}, pushes {fake.pushes}"
    )


async def main_async(
    events: int, users: int, concurrency: int, rate: float | None, postgres: str | None
) -> None:
    fake = FakeLine()
    runner = web.AppRunner(fake.app())
    await runner.setup()
    fake_port = free_port()
    await web.TCPSite(runner, "127.0.0.1", fake_port).start()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = {
            **os.environ,
            "HELPDESK_PORT": str(port),
            "HELPDESK_DATABASE_URL": f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}",
            **(await postgres_schema(postgres) if postgres else {}),
            "HELPDESK_LOG_LEVEL": "WARNING",
            "LINE_CHANNEL_SECRET": SECRET,
            "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
            "LINE_API_BASE_URL": f"http://127.0.0.1:{fake_port}",
        }
        helpdesk = str(Path(sys.executable).parent / "helpdesk")
        server = await asyncio.create_subprocess_exec(helpdesk, "serve", env=env)
        try:
            base = f"http://127.0.0.1:{port}"
            await wait_ready(f"{base}/healthz")
            await drive(base, fake, events, users, concurrency, rate)
        finally:
            server.terminate()
            await server.wait()
            await runner.cleanup()
            if postgres:
                await drop_postgres_schema(postgres)


BENCH_SCHEMA = "helpdesk_bench"


async def postgres_schema(url: str) -> dict[str, str]:
    """Settings for a fresh schema in the PostgreSQL database at `url` (asyncpg form)."""
    import asyncpg

    await drop_postgres_schema(url)
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    await conn.execute(f"CREATE SCHEMA {BENCH_SCHEMA}")
    await conn.close()
    return {"HELPDESK_DATABASE_URL": url, "HELPDESK_DATABASE_SCHEMA": BENCH_SCHEMA}


async def drop_postgres_schema(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    await conn.execute(f"DROP SCHEMA IF EXISTS {BENCH_SCHEMA} CASCADE")
    await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument(
        "--rate", type=float, help="send this many events per second (default: a burst)"
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="run on PostgreSQL (postgresql+asyncpg://...) in a scratch schema, not SQLite",
    )
    args = parser.parse_args()
    asyncio.run(
        main_async(args.events, args.users, args.concurrency, args.rate, args.postgres)
    )


if __name__ == "__main__":
    main()
