"""Load: many concurrent web chat sessions against one process or several replicas.

    .venv/bin/python -m bench.load [--sessions 500] [--seconds 60] [--replicas 1|2]
                                   [--database sqlite|postgresql] [--think 0]
                                   [--sample-seconds 10]

Starts `helpdesk serve` processes on free loopback ports (PostgreSQL: a fresh schema on
the local server, migrated once; the replicas share it), then opens `--sessions` chat
sessions spread over the replicas as a load balancer would, each with its WebSocket open,
each posting questions back to back (or one every `--think` seconds) for `--seconds`.
With `--think`, sessions start spread over one think interval and each sends on a fixed
schedule, so the offered rate is sessions / think, evenly. Prints messages per second,
p50/p99 latency, errors by kind, and samples of each server's memory (RSS), open file
descriptors and, on PostgreSQL, database connections — a run of 600 s is the soak test:
the samples must not grow.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg

from bench.http import QUESTIONS, free_port, wait_ready

POSTGRES_DSN = "postgresql://postgres@127.0.0.1:5432/test"
POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
# The load comes from one address and keeps every session busy, so the rate limits are
# lifted for the run (0 turns one off); everything else is the default.
NO_LIMIT = "0"


@dataclass
class Results:
    latencies: list[float] = field(default_factory=list)
    # when each answered message was sent, seconds from the start of the run
    sent_at: list[float] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    # seconds after which sessions have all started (two think intervals; 0: unpaced)
    settle: float = 0.0
    late_errors: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    live_pushes: int = 0

    def error(self, kind: str) -> None:
        self.errors[kind] += 1
        if self.settle and time.monotonic() - self.started >= self.settle:
            self.late_errors[kind] += 1


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


async def database_connections(schema: str | None) -> int | None:
    if schema is None:
        return None
    connection = await asyncpg.connect(POSTGRES_DSN)
    try:
        # Every client of the database, ours among them: run the benchmark alone, and
        # read the samples for growth rather than for the absolute number.
        value = await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = 'test' AND pid <> "
            "pg_backend_pid() AND backend_type = 'client backend'"
        )
        return int(value)
    finally:
        await connection.close()


def retry_after(response: aiohttp.ClientResponse) -> float:
    try:
        return float(response.headers.get("Retry-After", "1"))
    except ValueError:
        return 1.0


async def one_session(
    http: aiohttp.ClientSession,
    base: str,
    n: int,
    stop_at: float,
    think: float,
    results: Results,
    start_after: float = 0.0,
) -> None:
    # Paced sessions start spread over one think interval and then send on a fixed
    # schedule, one message every `think` seconds from their start, however long the
    # answers took: started together and sleeping after each answer, they would send in
    # lockstep, a burst of every session at once, not the rate the run claims.
    await asyncio.sleep(start_after)
    try:
        while True:
            async with http.post(f"{base}/api/chat/sessions", json={}) as r:
                if r.status == 201:
                    token = (await r.json())["token"]
                    break
                results.error(f"session {r.status}")
                # A busy server (admission control) asks to come back: do, as a client should.
                if r.status != 503 or time.monotonic() >= stop_at:
                    return
                await asyncio.sleep(retry_after(r))
        ws = await http.ws_connect(f"{base}/api/chat/ws")
        # The token goes in the first frame (never the URL); "ready" says pushes follow.
        await ws.send_json({"type": "auth", "token": token})
        ready = await ws.receive(timeout=10)
        if ready.type != aiohttp.WSMsgType.TEXT or json.loads(ready.data).get("type") != "ready":
            results.error(f"websocket {ready.type.name} {ready.data}")
            await ws.close()
            return
    except (aiohttp.ClientError, TimeoutError) as exc:
        results.error(type(exc).__name__)
        return

    async def read_socket() -> None:
        async for _ in ws:
            results.live_pushes += 1

    reader = asyncio.create_task(read_socket())
    headers = {"Authorization": f"Bearer {token}"}
    sent = 0
    schedule = time.monotonic()
    try:
        while time.monotonic() < stop_at:
            text = QUESTIONS[(n + sent) % len(QUESTIONS)]
            t0 = time.perf_counter()
            sent_at = time.monotonic() - results.started
            try:
                async with http.post(
                    f"{base}/api/chat/messages", json={"text": text}, headers=headers
                ) as r:
                    await r.read()
                    if r.status != 200:
                        results.error(f"message {r.status}")
                        if r.status == 503:
                            await asyncio.sleep(retry_after(r))
                    else:
                        results.latencies.append(time.perf_counter() - t0)
                        results.sent_at.append(sent_at)
            except (aiohttp.ClientError, TimeoutError) as exc:
                results.error(type(exc).__name__)
            sent += 1
            if think:
                schedule += think
                await asyncio.sleep(max(0.0, schedule - time.monotonic()))
    finally:
        await ws.close()
        reader.cancel()


async def sample(servers: list[Server], schema: str | None, started: float) -> str:
    parts = [
        f"replica {i + 1}: {rss_mib(s.process.pid):.0f} MiB, {open_fds(s.process.pid)} fds"
        for i, s in enumerate(servers)
    ]
    connections = await database_connections(schema)
    if connections is not None:
        parts.append(f"database connections {connections}")
    return f"t={time.monotonic() - started:5.0f} s  " + "; ".join(parts)


async def drive(
    servers: list[Server], sessions: int, seconds: float, think: float, every: float,
    schema: str | None,
) -> tuple[Results, list[str]]:  # fmt: skip
    results = Results(settle=2 * think)
    samples: list[str] = []
    started = results.started
    stop_at = started + seconds
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        samples.append(await sample(servers, schema, started))
        load = asyncio.gather(*(
            one_session(
                http, servers[n % len(servers)].url, n, stop_at, think, results,
                start_after=think * n / sessions,
            )
            for n in range(sessions)
        ))  # fmt: skip
        while not load.done():
            await asyncio.wait([load], timeout=every)
            samples.append(await sample(servers, schema, started))
        await load
    return results, samples


async def fresh_schema() -> str:
    schema = f"load_{uuid.uuid4().hex[:10]}"
    connection = await asyncpg.connect(POSTGRES_DSN)
    try:
        await connection.execute(f"CREATE SCHEMA {schema}")
    finally:
        await connection.close()
    return schema


async def drop_schema(schema: str) -> None:
    connection = await asyncpg.connect(POSTGRES_DSN)
    try:
        await connection.execute(f"DROP SCHEMA {schema} CASCADE")
    finally:
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--think", type=float, default=0.0)
    parser.add_argument("--sample-seconds", type=float, default=10.0)
    args = parser.parse_args()
    if args.database == "sqlite" and args.replicas != 1:
        parser.error("SQLite is for one process: use --database postgresql for replicas")
    helpdesk = str(Path(sys.executable).parent / "helpdesk")
    with tempfile.TemporaryDirectory() as tmp:
        schema = asyncio.run(fresh_schema()) if args.database == "postgresql" else None
        env = {
            **os.environ,
            "HELPDESK_LOG_LEVEL": "WARNING",
            "HELPDESK_RATE_LIMIT_SESSION_PER_MINUTE": NO_LIMIT,
            "HELPDESK_RATE_LIMIT_ADDRESS_PER_MINUTE": NO_LIMIT,
            "HELPDESK_RATE_LIMIT_NEW_SESSIONS_PER_MINUTE": NO_LIMIT,
            "HELPDESK_DATABASE_URL": POSTGRES_URL
            if schema
            else f"sqlite+aiosqlite:///{Path(tmp) / 'load.db'}",
        }
        if schema:
            env["HELPDESK_DATABASE_SCHEMA"] = schema
            subprocess.run([helpdesk, "db", "upgrade"], env=env, check=True)
            env["HELPDESK_AUTO_MIGRATE"] = "false"
        servers: list[Server] = []
        try:
            for _ in range(args.replicas):
                port = free_port()
                process = subprocess.Popen(
                    [helpdesk, "serve"], env={**env, "HELPDESK_PORT": str(port)}, cwd=tmp
                )
                servers.append(Server(port, process))
            for server in servers:
                asyncio.run(wait_ready(server.url + "/healthz"))
            load = drive(
                servers, args.sessions, args.seconds, args.think, args.sample_seconds, schema
            )
            results, samples = asyncio.run(load)
        finally:
            for server in servers:
                server.process.terminate()
                server.process.wait(30)
            if schema:
                asyncio.run(drop_schema(schema))
    report(args, results, samples)


def _percentiles(ordered: list[float]) -> str:
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000
    return f"p50 {p50:.0f} ms, p99 {p99:.0f} ms"


def report(args: argparse.Namespace, results: Results, samples: list[str]) -> None:
    lat = sorted(results.latencies)
    print(
        f"{args.sessions} sessions with WebSockets open, {args.seconds:.0f} s, "
        f"{args.replicas} replica(s) on {args.database}, think {args.think} s"
    )
    if lat:
        print(
            f"messages answered: {len(lat)} ({len(lat) / args.seconds:.1f}/s), "
            f"{_percentiles(lat)}; live pushes received: {results.live_pushes}"
        )
    if args.think and results.latencies:
        # the first two think intervals hold every session's start (its POST and socket
        # handshake) on top of the messages: shown apart, the run's figures above have both
        settle = results.settle
        steady = sorted(
            latency
            for latency, at in zip(results.latencies, results.sent_at, strict=True)
            if at >= settle
        )
        if steady:
            late = sum(results.late_errors.values())
            print(
                f"  after the first {settle:.0f} s (sessions started): {_percentiles(steady)}, "
                f"errors {late}" + (f" {dict(results.late_errors)}" if late else "")
            )
    total_errors = sum(results.errors.values())
    print(f"errors: {total_errors}" + (f" {dict(results.errors)}" if total_errors else ""))
    print("samples:")
    for line in samples:
        print("  " + line)


if __name__ == "__main__":
    main()
