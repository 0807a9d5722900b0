"""The two calls the outbox makes to LINE's Messaging API, reply and push, as plain HTTP.

The wire format is LINE's: POST a JSON body with the channel's access token as a bearer
token, `X-Line-Retry-Key` on a push so that a retried push is delivered once. Failures
are sorted for the outbox: 429 (with Retry-After), 5xx, timeouts and connection failures
are temporary; any other status is permanent.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from bot.ports import PermanentSendError, TemporarySendError, retry_after_seconds

PATHS = {"reply": "/v2/bot/message/reply", "push": "/v2/bot/message/push"}
# Calls in flight at once; the pacer keeps them within LINE's rate.
CONNECTIONS = 64


class LineRefused(PermanentSendError):
    """A 4xx from LINE that retrying the same request cannot fix."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"LINE API refused ({status}): {body}")
        self.status = status


class LineRateLimited(TemporarySendError):
    """A 429: LINE takes no more calls from this channel for a while."""


class MessagingApi:
    def __init__(self, access_token: str, base_url: str, timeout: float) -> None:
        self._base = base_url.rstrip("/")
        self._headers = {
            "Authorization": f"Bearer {access_token}",
            "Content-Type": "application/json",
        }
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        # trust_env: a proxy set in the environment is used, as the SDK's client does.
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=CONNECTIONS), trust_env=True,
            timeout=self._timeout, json_serialize=_compact,
        )  # fmt: skip

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        self._session = None

    async def post(self, kind: str, body: dict[str, Any], retry_key: str | None = None) -> None:
        """POST `body` to the `kind` ("reply" or "push") endpoint; raise on any failure."""
        if self._session is None:
            raise RuntimeError("the LINE Messaging API client is not open")
        headers = self._headers
        if retry_key is not None:
            headers = {**headers, "X-Line-Retry-Key": retry_key}
        try:
            async with self._session.post(
                self._base + PATHS[kind], json=body, headers=headers
            ) as response:
                if response.status < 300:
                    await response.read()
                    return
                text = (await response.text(errors="replace"))[:300]
                raise _refusal(response.status, text, response.headers.get("Retry-After"))
        except TimeoutError as exc:
            raise TemporarySendError(f"LINE API timed out: {exc!r}") from None
        except aiohttp.ClientError as exc:
            raise TemporarySendError(f"LINE API unreachable: {exc!r}") from None


def _refusal(status: int, body: str, retry_after: str | None) -> Exception:
    if status == 429:
        return LineRateLimited(f"LINE API answered 429: {body}", retry_after_seconds(retry_after))
    if status >= 500:
        return TemporarySendError(
            f"LINE API answered {status}: {body}", retry_after_seconds(retry_after)
        )
    return LineRefused(status, body)


def _compact(value: Any) -> str:
    # As LINE documents its examples: UTF-8 text, not \u escapes (a third of the bytes).
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
