"""The `helpdesk` command: serve, db upgrade, faq check/test/search."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from bot.clock import Clock, utc_now
from bot.config import Settings, SettingsError
from bot.texts import TextsError
from faq.unanswered import UnansweredItem


def main(argv: Sequence[str] | None = None, clock: Clock = utc_now) -> int:
    """Run one command; `clock` is the one source of 'now' for every time window."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.clock = clock
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    if getattr(args, "faq_command", None) in ("check", "test", "search", "lint", "eval"):
        settings = _settings()
        args.thresholds = settings.thresholds
        args.default_faq_dir = settings.faq_dir
        args.configured_semantic = settings.semantic
        args.configured_glossary = str(settings.faq_glossary or "off")
    code: int = args.func(args)
    return code


def build_parser() -> argparse.ArgumentParser:
    from faq import cli as faq_cli

    parser = argparse.ArgumentParser(prog="helpdesk", description=__doc__)
    commands = parser.add_subparsers(title="commands")

    serve = commands.add_parser("serve", help="run the server (settings from HELPDESK_* env)")
    serve.set_defaults(func=_serve)

    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(title="db commands")
    db_upgrade = db_commands.add_parser("upgrade", help="apply migrations up to the newest")
    db_upgrade.set_defaults(func=_db_upgrade)

    report = commands.add_parser("report", help="print the KPIs of a period")
    report.add_argument("--from", dest="first", help="first day, YYYY-MM-DD (default: 6 days ago)")
    report.add_argument("--to", dest="last", help="last day, YYYY-MM-DD (default: today)")
    report.add_argument("--channel", help="only this channel (web, line)")
    report.set_defaults(func=_report)

    faq_commands = faq_cli.register(commands)
    unanswered = faq_commands.add_parser(
        "unanswered", help="questions that ended in a handoff or a 'no', grouped by topic"
    )
    unanswered.add_argument("--days", type=int, default=30, help="look back this many days")
    unanswered.add_argument("--limit", type=int, default=20, help="show at most this many groups")
    unanswered.add_argument("--draft", type=Path, help="write a draft YAML entry per group here")
    unanswered.set_defaults(func=_faq_unanswered)
    # The faq commands check what the server would load, with the server's thresholds.
    parser.set_defaults(default_faq_dir=None, thresholds=None, configured_semantic=None)
    return parser


def _settings() -> Settings:
    try:
        return Settings.from_env(os.environ)
    except SettingsError as exc:
        print(f"helpdesk: bad setting: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _serve(args: argparse.Namespace) -> int:
    from bot.app import create_app
    from bot.logs import configure_logging
    from faq.loader import check_faq_dir

    settings = _settings()
    log = configure_logging(settings.log_level)
    # Refuse to start on a broken FAQ, naming every problem, before anything else runs.
    _, problems = check_faq_dir(settings.faq_dir)
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        print(f"helpdesk: the FAQ in {settings.faq_dir} has errors; not starting", file=sys.stderr)
        return 1
    try:
        app = create_app(settings, logger=log)
    except TextsError as exc:
        print(f"helpdesk: {exc}", file=sys.stderr)
        return 1
    log.info(
        "starting",
        extra={
            "url": f"http://{settings.host}:{settings.port}/",
            "public_url": settings.public_url,
        },
    )
    web.run_app(app, host=settings.host, port=settings.port, print=None)
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    from bot.db import make_engine, upgrade

    settings = _settings()

    async def run() -> None:
        engine = make_engine(settings.database_url, settings.database_schema)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())
    print("database is at the newest schema")
    return 0


def _report(args: argparse.Namespace) -> int:
    from datetime import date, datetime, time, timedelta

    from bot.db import make_engine, make_session_factory
    from surveys.comment_terms import CommentAnalyzer
    from surveys.kpis import summary
    from surveys.report_table import format_report

    settings = _settings()
    tz = settings.business_hours.timezone
    now = args.clock()
    try:
        last = date.fromisoformat(args.last) if args.last else now.astimezone(tz).date()
        first = date.fromisoformat(args.first) if args.first else last - timedelta(days=6)
    except ValueError as exc:
        print(f"helpdesk: --from/--to must be dates like 2026-11-01 ({exc})", file=sys.stderr)
        return 2
    start = datetime.combine(first, time(0), tzinfo=tz)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz)

    async def run() -> str:
        engine = make_engine(settings.database_url, settings.database_schema)
        try:
            async with make_session_factory(engine)() as session:
                report = await summary(
                    session, start, end, now, channel=args.channel, timezone=tz,
                    comments=CommentAnalyzer(),
                )  # fmt: skip
        finally:
            await engine.dispose()
        return format_report(report, f"{first} to {last}", args.channel)

    print(asyncio.run(run()))
    return 0


def _faq_unanswered(args: argparse.Namespace) -> int:
    from bot.db import make_engine
    from bot.unanswered_report import load_unanswered
    from faq.unanswered import draft_yaml, group_questions

    settings = _settings()

    async def load() -> list[UnansweredItem]:
        engine = make_engine(settings.database_url, settings.database_schema)
        try:
            return await load_unanswered(engine, days=args.days, now=args.clock())
        finally:
            await engine.dispose()

    items = asyncio.run(load())
    groups = group_questions(items)[: args.limit]
    if not groups:
        print(f"no unanswered questions in the last {args.days} days")
        return 0
    for group in groups:
        closest = ", ".join(entry_id for entry_id, _ in group.candidates) or "-"
        print(f"{group.count:4d}x [{group.locale}] {group.representative}   (closest: {closest})")
        for other in group.texts[1:4]:
            print(f"       {other}")
    if args.draft is not None:
        args.draft.write_text(draft_yaml(groups), encoding="utf-8")
        print(f"wrote {len(groups)} draft entries to {args.draft}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
