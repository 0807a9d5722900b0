"""No product code reads the wall clock except `bot.clock`: every time window, deadline
and signature age comes from the one injected Clock, so a fake clock moves all of them.

Durations (time.perf_counter, time.monotonic) are allowed: they measure, they decide
no window."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "channels", "faq", "handoff", "surveys")
ALLOWED = {Path("bot/clock.py")}
DATE_CLASSES = {"datetime", "date"}
DATE_READS = {"now", "utcnow", "today"}
TIME_READS = {"time", "time_ns", "localtime", "gmtime", "ctime", "asctime"}


def wall_clock_reads(source: str) -> list[tuple[int, str]]:
    """(line, expression) for each read of the wall clock in `source`."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute):
            owner = node.value
            owner_name = (
                owner.id
                if isinstance(owner, ast.Name)
                else owner.attr
                if isinstance(owner, ast.Attribute)
                else None
            )
            if owner_name in DATE_CLASSES and node.attr in DATE_READS:
                found.append((node.lineno, f"{owner_name}.{node.attr}"))
            if owner_name == "time" and node.attr in TIME_READS:
                found.append((node.lineno, f"time.{node.attr}"))
        elif isinstance(node, ast.ImportFrom) and node.module == "time":
            for alias in node.names:
                if alias.name in TIME_READS:
                    found.append((node.lineno, f"from time import {alias.name}"))
    return sorted(found)


def test_the_check_sees_each_way_of_reading_the_clock() -> None:
    source = "\n".join(
        [
            "import datetime as dt, time",
            "from time import time_ns",
            "a = datetime.now(UTC)",
            "b = dt.datetime.utcnow()",
            "c = date.today()",
            "d = time.time",
            "e = time.perf_counter()",
            "f = self.clock()",
            "g = row.created_at.date()",
        ]
    )
    assert [line for line, _ in wall_clock_reads(source)] == [2, 3, 4, 5, 6]


def test_no_code_reads_the_wall_clock_outside_bot_clock() -> None:
    offenders = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if relative in ALLOWED:
                continue
            for line, expression in wall_clock_reads(path.read_text(encoding="utf-8")):
                offenders.append(f"{relative}:{line}: {expression}")
    assert offenders == []
