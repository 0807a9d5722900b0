"""Several real server processes (`helpdesk serve`) on loopback, sharing one PostgreSQL
schema, with LINE and Slack pointed at fake APIs that run in the test process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from tests.channels.slack_desk import CHANNEL, LINE_SECRET, LINE_TOKEN, SLACK_SECRET, SLACK_TOKEN
from tests.conftest import Database

START_SECONDS = 60.0
STOP_SECONDS = 20.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Replica:
    name: str
    port: int
    log_path: Path
    process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass
class Cluster:
    """Replicas started by `start`, all stopped by `stop_all`."""

    database: Database
    workdir: Path
    line_api_url: str
    slack_api_url: str
    extra_env: dict[str, str] = field(default_factory=dict)
    replicas: list[Replica] = field(default_factory=list)

    def env(self, port: int) -> dict[str, str]:
        return {
            # Only what a process needs to run; nothing of the caller's HELPDESK_* leaks in.
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.workdir),
            "LANG": "C.UTF-8",
            # The code under test, when it is not the installed package (a worktree).
            **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"},
            **self.database.env,
            "HELPDESK_PORT": str(port),
            "HELPDESK_AUTO_MIGRATE": "false",
            "HELPDESK_LOG_LEVEL": "INFO",
            "LINE_CHANNEL_SECRET": LINE_SECRET,
            "LINE_CHANNEL_ACCESS_TOKEN": LINE_TOKEN,
            "LINE_API_BASE_URL": self.line_api_url,
            "LINE_REQUEST_TIMEOUT_SECONDS": "5",
            "SLACK_SIGNING_SECRET": SLACK_SECRET,
            "SLACK_BOT_TOKEN": SLACK_TOKEN,
            "SLACK_HANDOFF_CHANNEL": CHANNEL,
            "SLACK_API_BASE_URL": self.slack_api_url,
            "HELPDESK_DIGEST_TIME": "off",
            # Other tests share the PostgreSQL server and its 100 connections.
            "HELPDESK_DATABASE_POOL_SIZE": "3",
            **self.extra_env,
        }

    async def upgrade(self) -> None:
        """Migrate once, before any replica starts (they run with auto-migrate off)."""
        await self._run_cli("db", "upgrade")

    async def start(self, count: int) -> list[Replica]:
        started = [self._new_replica() for _ in range(count)]
        await asyncio.gather(*(self._launch(r) for r in started))
        return started

    async def stop(self, replica: Replica, sig: int = signal.SIGTERM) -> None:
        process = replica.process
        if process is None or process.returncode is not None:
            return
        process.send_signal(sig)
        try:
            await asyncio.wait_for(process.wait(), STOP_SECONDS)
        except TimeoutError:
            process.kill()
            await process.wait()

    async def stop_all(self) -> None:
        await asyncio.gather(*(self.stop(r) for r in self.replicas))

    def logs(self) -> str:
        return "\n".join(f"--- {r.name}\n{r.log()[-4000:]}" for r in self.replicas)

    def _new_replica(self) -> Replica:
        name = f"replica-{len(self.replicas) + 1}"
        replica = Replica(name, free_port(), self.workdir / f"{name}.log")
        self.replicas.append(replica)
        return replica

    async def _launch(self, replica: Replica) -> None:
        log = replica.log_path.open("ab")
        replica.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "serve",
            env=self.env(replica.port), cwd=self.workdir, stdout=log, stderr=log,
        )  # fmt: skip
        log.close()
        await self._wait_healthy(replica)

    async def _wait_healthy(self, replica: Replica) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_SECONDS
        async with aiohttp.ClientSession() as http:
            while loop.time() < deadline:
                assert replica.process is not None
                if replica.process.returncode is not None:
                    raise RuntimeError(f"{replica.name} exited:\n{replica.log()}")
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(replica.url + "/healthz") as r:
                        if r.status == 200:
                            return
                await asyncio.sleep(0.2)
        raise RuntimeError(f"{replica.name} did not start:\n{replica.log()}")

    async def _run_cli(self, *args: str) -> None:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", *args,
            env=self.env(0), cwd=self.workdir,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        output, _ = await process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"helpdesk {' '.join(args)} failed:\n{output.decode()}")
