"""Telling "the database is unreachable" apart from other failures, and answering it.

A request that fails because the database is down (PostgreSQL restarting, the network
gone, the pool out of connections) is not a bug in the request: it gets a 503 with
`Retry-After`, so clients and LINE's webhook delivery try again later, instead of a 500.
Background jobs log such a failure as one line and carry on; their rows wait in the
database.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from types import TracebackType

import asyncpg
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from sqlalchemy import exc as sa_exc

# What a client is told to wait before trying again.
RETRY_AFTER_SECONDS = 5
# Bare OS-level errors count only when raised inside one of these (a LINE API timeout
# in a handler is not a database outage).
DRIVER_MODULES = ("sqlalchemy", "asyncpg", "aiosqlite", "sqlite3")
# SQLite reports missing tables and syntax errors as OperationalError too; only these
# mean the file cannot be used right now.
SQLITE_UNAVAILABLE = ("database is locked", "unable to open database", "disk i/o error")
_SA_UNAVAILABLE = (sa_exc.InterfaceError, sa_exc.DisconnectionError, sa_exc.TimeoutError)
_DRIVER_UNAVAILABLE = (
    asyncpg.PostgresConnectionError,  # connection refused, lost or rejected
    asyncpg.exceptions.OperatorInterventionError,  # shutting down, starting up
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections
)


def is_database_unavailable(exc: BaseException) -> bool:
    """True when `exc` (or what caused it) means the database cannot be reached now."""
    for error in _chain(exc):
        if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
            return True
        if isinstance(error, sa_exc.OperationalError):
            if isinstance(error.orig, sqlite3.OperationalError):
                return str(error.orig).lower().startswith(SQLITE_UNAVAILABLE)
            return True
        if isinstance(error, _SA_UNAVAILABLE):
            return True
        if isinstance(error, (*_DRIVER_UNAVAILABLE, OSError)) and _raised_in_driver(error):
            return True
    return False


def describe(exc: BaseException) -> str:
    """The failure's exception types, outermost first, for logs: never its message,
    which can hold SQL, a customer's text or connection details."""
    names = [type(e).__name__ for e in _chain(exc)]
    return " <- ".join(dict.fromkeys(names))


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        error = pending.pop(0)
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        yield error
        orig = getattr(error, "orig", None)
        pending.extend([orig if isinstance(orig, BaseException) else None])
        pending.extend([error.__cause__, error.__context__])


def _raised_in_driver(exc: BaseException) -> bool:
    tb: TracebackType | None = exc.__traceback__
    while tb is not None:
        module = str(tb.tb_frame.f_globals.get("__name__", ""))
        if module.split(".")[0] in DRIVER_MODULES:
            return True
        tb = tb.tb_next
    return False


def unavailable_response() -> web.Response:
    return web.json_response(
        {"error": "database unavailable"},
        status=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def database_outage_middleware(log: logging.Logger) -> Middleware:
    """Turn a database outage met while handling a request into a 503."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except Exception as exc:
            if not is_database_unavailable(exc):
                raise
            log.warning(
                "database unavailable; answered 503",
                extra={"method": request.method, "path": request.path, "error": describe(exc)},
            )
            return unavailable_response()

    return middleware


def outage_tolerant(
    job: Callable[[], Awaitable[object]], log: logging.Logger, what: str
) -> Callable[[], Awaitable[None]]:
    """Wrap a scheduler job so a database outage is one warning line, not a traceback
    per tick: the job's rows stay due, and the next tick after recovery does them."""

    async def run() -> None:
        try:
            await job()
        except Exception as exc:
            if not is_database_unavailable(exc):
                raise
            log.warning("%s skipped: database unavailable", what, extra={"error": describe(exc)})

    return functools.wraps(job)(run)
