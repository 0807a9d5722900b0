"""Web chat messages per second over real HTTP, next to a bare aiohttp JSON echo.

    .venv/bin/python -m bench.http [--seconds 10] [--sessions 20]

Starts `helpdesk serve` (SQLite file, demo FAQ) as a subprocess on a free loopback port,
drives it with `--sessions` concurrent chat sessions, each posting questions back to
back for `--seconds`; then does the same against a bare aiohttp app that echoes JSON.
Prints both rates and their ratio: the ratio is what the engine, the FAQ matcher and the
database cost on top of aiohttp itself.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

QUESTIONS = [
    "パスワードを忘れました", "料金プランを教えて", "ノートをエクスポートしたい",
    "how do I export my notes", "I forgot my password", "同期されない",
    "解約したい", "領収書がほしい", "two-factor authentication", "オフラインで使える？",
]  # fmt: skip

ECHO_APP = """
from aiohttp import web
async def echo(request):
    return web.json_response({"messages": [await request.json()]})
app = web.Application()
app.router.add_post("/echo", echo)
web.run_app(app, host="127.0.0.1", port=int(__import__("sys").argv[1]), print=None)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_ready(url: str, within: float = 60) -> None:
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(url) as r:
                    if r.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


async def drive_helpdesk(base: str, sessions: int, seconds: float) -> tuple[int, list[float]]:
    latencies: list[float] = []
    async with aiohttp.ClientSession() as http:

        async def one_session(n: int) -> int:
            async with http.post(f"{base}/api/chat/sessions", json={}) as r:
                token = (await r.json())["token"]
            headers = {"Authorization": f"Bearer {token}"}
            sent, deadline = 0, time.monotonic() + seconds
            while time.monotonic() < deadline:
                text = QUESTIONS[(n + sent) % len(QUESTIONS)]
                t0 = time.perf_counter()
                async with http.post(
                    f"{base}/api/chat/messages", json={"text": text}, headers=headers
                ) as r:
                    await r.read()
                    if r.status != 200:
                        raise RuntimeError(f"status {r.status}")
                latencies.append(time.perf_counter() - t0)
                sent += 1
            return sent

        counts = await asyncio.gather(*(one_session(n) for n in range(sessions)))
    return sum(counts), latencies


async def drive_echo(base: str, sessions: int, seconds: float) -> int:
    async with aiohttp.ClientSession() as http:

        async def one(n: int) -> int:
            sent, deadline = 0, time.monotonic() + seconds
            while time.monotonic() < deadline:
                async with http.post(f"{base}/echo", json={"text": QUESTIONS[n % 10]}) as r:
                    await r.read()
                sent += 1
            return sent

        return sum(await asyncio.gather(*(one(n) for n in range(sessions))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--sessions", type=int, default=20)
    args = parser.parse_args()
    bindir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = {
            **os.environ,
            "HELPDESK_PORT": str(port),
            "HELPDESK_DATABASE_URL": f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}",
            "HELPDESK_LOG_LEVEL": "WARNING",
            # Every session posts from one address as fast as it can: measure the server,
            # not its rate limits.
            "HELPDESK_RATE_LIMIT_SESSION_PER_MINUTE": "0",
            "HELPDESK_RATE_LIMIT_ADDRESS_PER_MINUTE": "0",
            "HELPDESK_RATE_LIMIT_NEW_SESSIONS_PER_MINUTE": "0",
        }
        server = subprocess.Popen([str(bindir / "helpdesk"), "serve"], env=env)
        try:
            base = f"http://127.0.0.1:{port}"
            asyncio.run(wait_ready(f"{base}/healthz"))
            count, lat = asyncio.run(drive_helpdesk(base, args.sessions, args.seconds))
        finally:
            server.terminate()
            server.wait(10)
    echo_port = free_port()
    echo = subprocess.Popen([sys.executable, "-c", ECHO_APP, str(echo_port)])
    try:
        echo_base = f"http://127.0.0.1:{echo_port}"
        asyncio.run(wait_ready(f"{echo_base}/nothing"))
        echo_count = asyncio.run(drive_echo(echo_base, args.sessions, args.seconds))
    finally:
        echo.terminate()
        echo.wait(10)
    ours = count / args.seconds
    bare = echo_count / args.seconds
    lat.sort()
    print(f"{args.sessions} concurrent sessions, {args.seconds:.0f} s each, one server process")
    p50, p99 = statistics.median(lat) * 1000, lat[int(0.99 * len(lat))] * 1000
    print(f"helpdesk web chat: {ours:.0f} messages/s (p50 {p50:.1f} ms, p99 {p99:.1f} ms)")
    print(f"bare aiohttp JSON echo: {bare:.0f} requests/s")
    print(f"ratio helpdesk / bare: {ours / bare:.2f}")


if __name__ == "__main__":
    main()
