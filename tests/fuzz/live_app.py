"""The whole app with LINE and Slack on, served on loopback ports from an event loop in a
thread of its own, so that synchronous hypothesis tests can send it requests.

Hypothesis drives a plain function per example; the app, its background loops and the
fake LINE and Slack APIs keep running in their loop between examples, as in production.
Every log record at ERROR, or carrying an exception, from the app's logger and from the
libraries under it (aiohttp's server, asyncio, APScheduler) is kept for the test to see.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any, TypeVar

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from yarl import URL

from bot.app import SERVICES, Services, create_app
from bot.config import Settings
from bot.logs import JsonFormatter
from bot.models import EventDelivery, InboundEvent, Outbox, SlackPost
from tests.chat_socket import WS_PATH, authenticated
from tests.fakes.clock import ManualClock
from tests.fakes.line_api import FakeLineApi
from tests.fakes.settling import unsettled
from tests.fakes.slack_api import FakeSlackApi
from tests.raw_http import Reply, send_raw

T = TypeVar("T")

LINE_SECRET = "line-channel-secret-0123456789"
LINE_TOKEN = "line-access-token-0123456789"
SLACK_SECRET = "slack-signing-secret-0123456789"
SLACK_TOKEN = "xoxb-1234-5678-slacktoken"
SLACK_CHANNEL = "C0HANDOFF1"
ADMIN_TOKEN = "admin-token-0123456789"
IDENTITY_SECRET = "identity-secret-0123456789"
# A site allowed to embed the widget, so that the CORS code has an origin to match.
CORS_ORIGIN = "https://shop.example"
# Proxies said to append to X-Forwarded-For, so that the header is parsed at all.
TRUSTED_PROXIES = 2
# Loggers besides the app's whose errors mean an exception nobody handled.
LIBRARY_LOGGERS = ("aiohttp.server", "aiohttp.web", "asyncio", "apscheduler")
SETTLE_SECONDS = 60.0
CALL_SECONDS = 60.0


class ErrorRecords(logging.Handler):
    """Keeps every record at ERROR or above, and any record with an exception."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            self.records.append(record)

    def describe(self, start: int = 0) -> str:
        # The server's own format: it carries the records' extra fields.
        formatter = JsonFormatter()
        return "\n".join(formatter.format(r) for r in self.records[start:])


class LiveApp:
    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = dict(env)
        self.clock = ManualClock()
        self.logger = logging.getLogger(f"fuzz.{uuid.uuid4().hex[:8]}")
        self.errors = ErrorRecords()
        self.line_api = FakeLineApi(access_token=LINE_TOKEN)
        # UBOT is not in the channel, so the fuzz run reaches the refusals too.
        self.slack_api = FakeSlackApi(
            token=SLACK_TOKEN, channel_members={SLACK_CHANNEL: ["UALICE", "UBOB"]}
        )
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="live-app")
        self._servers: list[TestServer] = []
        self._http: aiohttp.ClientSession | None = None
        self.base_url = ""

    @property
    def services(self) -> Services:
        assert self._servers
        return self._servers[-1].app[SERVICES]

    # -- running code in the app's loop -----------------------------------------------

    def call(self, make: Callable[[], Coroutine[Any, Any, T]], timeout: float = CALL_SECONDS) -> T:
        """Run a coroutine in the app's loop and wait for its result."""
        future: Future[T] = asyncio.run_coroutine_threadsafe(make(), self._loop)
        return future.result(timeout)

    # -- the app ------------------------------------------------------------------------

    @contextmanager
    def running(self) -> Iterator[LiveApp]:
        self.logger.setLevel(logging.INFO)
        self.logger.addHandler(self.errors)
        for name in LIBRARY_LOGGERS:
            logging.getLogger(name).addHandler(self.errors)
        self._thread.start()
        try:
            self.call(self._start)
            yield self
        finally:
            try:
                self.call(self._stop)
            finally:
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._thread.join(30)
                self._loop.close()
                for name in LIBRARY_LOGGERS:
                    logging.getLogger(name).removeHandler(self.errors)
                self.logger.removeHandler(self.errors)

    async def _start(self) -> None:
        line_server = await self._serve(self.line_api.app())
        slack_server = await self._serve(self.slack_api.app())
        settings = Settings.from_env(
            {
                **self._env,
                "HELPDESK_ADMIN_TOKEN": ADMIN_TOKEN,
                "HELPDESK_IDENTITY_SECRET": IDENTITY_SECRET,
                # The fuzz run is about what one request does; rate limits have tests of
                # their own and would answer much of it with 429.
                "HELPDESK_RATE_LIMIT_SESSION_PER_MINUTE": "0",
                "HELPDESK_RATE_LIMIT_ADDRESS_PER_MINUTE": "0",
                "HELPDESK_RATE_LIMIT_NEW_SESSIONS_PER_MINUTE": "0",
                "HELPDESK_TRUST_FORWARDED_FOR": str(TRUSTED_PROXIES),
                "HELPDESK_CORS_ORIGINS": CORS_ORIGIN,
                # Its Slack checks count the cases' messages; a digest would be one more.
                "HELPDESK_DIGEST_TIME": "off",
                "LINE_CHANNEL_SECRET": LINE_SECRET,
                "LINE_CHANNEL_ACCESS_TOKEN": LINE_TOKEN,
                "LINE_API_BASE_URL": f"http://127.0.0.1:{line_server.port}",
                "LINE_REQUEST_TIMEOUT_SECONDS": "5",
                "HELPDESK_LINE_ADD_FRIEND_URL": "https://line.me/R/ti/p/@helpdesk",
                "SLACK_SIGNING_SECRET": SLACK_SECRET,
                "SLACK_BOT_TOKEN": SLACK_TOKEN,
                "SLACK_HANDOFF_CHANNEL": SLACK_CHANNEL,
                "SLACK_API_BASE_URL": f"http://127.0.0.1:{slack_server.port}/api",
                "SLACK_REQUEST_TIMEOUT_SECONDS": "5",
            }
        )
        app_server = await self._serve(create_app(settings, self.clock, self.logger))
        self.base_url = f"http://127.0.0.1:{app_server.port}"
        # No cookies, no automatic decompression: the raw exchange is what is checked.
        self._http = aiohttp.ClientSession(
            cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False
        )

    async def _serve(self, app: web.Application) -> TestServer:
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        self._servers.append(server)
        return server

    async def _stop(self) -> None:
        if self._http is not None:
            await self._http.close()
        for server in reversed(self._servers):
            await server.close()

    # -- requests -----------------------------------------------------------------------

    def send(
        self,
        method: str,
        path_and_query: str,
        headers: Mapping[str, str],
        body: bytes | None,
    ) -> Reply:
        """One request with exactly these headers and body bytes (aiohttp adds only
        Host and Content-Length)."""
        return self.call(lambda: self._send(method, path_and_query, headers, body))

    async def _send(
        self, method: str, path_and_query: str, headers: Mapping[str, str], body: bytes | None
    ) -> Reply:
        assert self._http is not None
        url = URL(self.base_url + path_and_query, encoded=True)
        async with self._http.request(
            method,
            url,
            headers=dict(headers),
            data=body,
            skip_auto_headers=("Content-Type", "User-Agent", "Accept-Encoding", "Accept"),
            allow_redirects=False,
        ) as response:
            return Reply(response.status, response.content_type, await response.read())

    def send_raw(self, request: bytes) -> Reply:
        """Bytes no HTTP client library would send (header values that are not UTF-8),
        written to the socket as they are; the response read back."""
        return self.call(lambda: self._send_raw(request))

    async def _send_raw(self, request: bytes) -> Reply:
        return await send_raw(int(self.base_url.rsplit(":", 1)[1]), request)

    def websocket(self, token: str, frame: str | bytes, *, first: bool = False) -> str:
        """Open the chat WebSocket, authenticate with `token` (unless `first`: then
        `frame` goes in place of the auth frame), send `frame` and then a ping; what came
        back: "pong", "closed <code>" or the unexpected message's type."""
        return self.call(lambda: self._websocket(token, frame, first))

    async def _websocket(self, token: str, frame: str | bytes, first: bool) -> str:
        assert self._http is not None
        async with self._http.ws_connect(self.base_url + WS_PATH, max_msg_size=0) as ws:
            if not first:
                await authenticated(ws, token)
            if isinstance(frame, bytes):
                await ws.send_bytes(frame)
            else:
                # A lone surrogate goes out as the bytes it stands for: a text frame
                # that is not UTF-8.
                raw = frame.encode("utf-8", "surrogatepass")
                await ws.send_frame(raw, aiohttp.WSMsgType.TEXT)
            await ws.send_str('{"type": "ping"}')
            while True:
                message = await ws.receive(timeout=10)
                if message.type == aiohttp.WSMsgType.TEXT:
                    data = message.json()
                    if data.get("type") == "pong":
                        return "pong"
                    continue  # a pushed chat message
                if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                    return f"closed {ws.close_code}"
                return str(message.type)

    def run(self, work: Callable[[LiveApp], Awaitable[T]]) -> T:
        """Run `work(self)` in the app's loop (for setup that talks to the services)."""
        return self.call(lambda: _awaited(work(self)))

    # -- background work ----------------------------------------------------------------

    def settle(self) -> None:
        """Wait until the inbox, the customer outbox and the Slack outbox have nothing
        due now, including what the app's own loops already claimed."""
        self.call(self._settle, timeout=SETTLE_SECONDS + 5)

    async def _settle(self) -> None:
        services = self.services
        assert services.slack is not None
        models = (
            (Outbox, "conversation_id"),
            (SlackPost, "conversation_id"),
            (InboundEvent, "sender"),
            (EventDelivery, "group_key"),
        )
        async with asyncio.timeout(SETTLE_SECONDS):
            while True:
                busy = await services.inbox.process_once()
                busy += await services.events.deliver_once()
                busy += await services.outbox.dispatch_once()
                busy += await services.slack.poster.dispatch_once()
                if not busy and not await unsettled(services.sessions, models, self.clock()):
                    return
                await asyncio.sleep(0.01)


async def _awaited(awaitable: Awaitable[T]) -> T:
    return await awaitable
