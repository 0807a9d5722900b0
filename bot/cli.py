"""The `helpdesk` command: serve, db upgrade, faq check/test/search."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from aiohttp import web

from bot.config import Settings, SettingsError
from bot.texts import TextsError


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    # `helpdesk faq check` with no directory checks the FAQ the server would load.
    parser.set_defaults(default_faq_dir=os.environ.get("HELPDESK_FAQ_DIR") or None)
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
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

    faq_cli.register(commands)
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


if __name__ == "__main__":
    raise SystemExit(main())
