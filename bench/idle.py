"""An idle server's database traffic: statements per minute with nothing to do.

    .venv/bin/python -m bench.idle [--seconds 60] [--postgres postgresql+asyncpg://...]

Starts the whole app in this process (every work loop and timer, LINE and Slack on with
a fake Slack API that accepts every call), waits for start-up to settle, then counts for
`--seconds` the statements the app's engine sends and those of the PostgreSQL
listener connection (liveness checks, wake-ups), and prints them per minute and by kind.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections import Counter
from pathlib import Path

from aiohttp import web

from bench.http import free_port
from bench.line import drop_postgres_schema, postgres_schema
from bot.app import SERVICES, create_app
from bot.config import Settings
from bot.statement_count import StatementCount

# Start-up runs migrations, loads the FAQ and catches up on the digest: not idle work.
SETTLE_SECONDS = 5.0


async def fake_slack(request: web.Request) -> web.Response:
    """Every Web API call succeeds: the start-up posts (the digest) must not turn into
    retries that the count would take for idle work."""
    return web.json_response({"ok": True, "channel": "C0123456789", "ts": "1700000000.000100"})


async def run(seconds: float, postgres: str | None) -> None:
    slack = web.Application()
    slack.router.add_route("*", "/{path:.*}", fake_slack)
    slack_runner = web.AppRunner(slack)
    await slack_runner.setup()
    slack_port = free_port()
    await web.TCPSite(slack_runner, "127.0.0.1", slack_port).start()
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "HELPDESK_DATABASE_URL": f"sqlite+aiosqlite:///{Path(tmp) / 'idle.db'}",
            **(await postgres_schema(postgres) if postgres else {}),
            "HELPDESK_LOG_LEVEL": "WARNING",
            "LINE_CHANNEL_SECRET": "idle-channel-secret-0123",
            "LINE_CHANNEL_ACCESS_TOKEN": "idle-access-token-0123",
            "LINE_API_BASE_URL": "http://127.0.0.1:9",
            "SLACK_SIGNING_SECRET": "idle-signing-secret",
            "SLACK_BOT_TOKEN": "xoxb-idle",
            "SLACK_HANDOFF_CHANNEL": "C0123456789",
            "SLACK_API_BASE_URL": f"http://127.0.0.1:{slack_port}/api/",
        }
        app = create_app(Settings.from_env(env))
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", free_port()).start()
        services = app[SERVICES]
        try:
            await asyncio.sleep(SETTLE_SECONDS)
            listener = services.listener
            listened_before = listener.statements if listener is not None else 0
            with StatementCount(services.db) as count:
                await asyncio.sleep(seconds)
            checks = (listener.statements if listener is not None else 0) - listened_before
        finally:
            await runner.cleanup()
            await slack_runner.cleanup()
            if postgres:
                await drop_postgres_schema(postgres)
    per_minute = 60.0 / seconds
    database = "PostgreSQL" if postgres else "SQLite"
    total = len(count) + checks
    print(
        f"{database}, idle {seconds:.0f} s: {total} statements "
        f"({total * per_minute:.1f}/min), {count.transactions} transactions; "
        f"of which {checks} on the listener connection"
    )
    kinds = Counter(statement.split(" (")[0][:90] for statement in count.statements)
    for statement, n in kinds.most_common():
        print(f"  {n:4d}  {statement}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="run on PostgreSQL (postgresql+asyncpg://...) in a scratch schema, not SQLite",
    )
    args = parser.parse_args()
    asyncio.run(run(args.seconds, args.postgres))


if __name__ == "__main__":
    main()
