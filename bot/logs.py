"""Structured logs: one JSON object per line, with the record's `extra` fields."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
# Libraries' loggers held above the app's level. aiohttp's access log repeats every
# request (our own lines carry what matters). The widget keeps its token out of URLs, but
# a tab still running a widget from before the first-frame handshake puts it in the
# WebSocket URL's query (refused, and not to be written down either).
LIBRARY_LOG_LEVELS = {"aiohttp.access": logging.WARNING}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str) -> logging.Logger:
    """Send the root logger's records to stderr as JSON lines; return the app's logger."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name, library_level in LIBRARY_LOG_LEVELS.items():
        logging.getLogger(name).setLevel(library_level)
    return logging.getLogger("helpdesk")
