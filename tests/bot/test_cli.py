"""The `helpdesk` command: serve (for real, as a process), db upgrade, bad settings."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import create_engine, inspect

from bot.cli import main
from bot.db import SessionFactory
from tests.bot.conftest import Harness
from tests.conftest import Database


def test_db_upgrade_creates_the_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "cli.db"
    monkeypatch.setenv("HELPDESK_DATABASE_URL", f"sqlite+aiosqlite:///{db}")
    assert main(["db", "upgrade"]) == 0
    assert "newest schema" in capsys.readouterr().out
    tables = set(inspect(create_engine(f"sqlite:///{db}")).get_table_names())
    assert {"conversation", "message", "outbox", "processed_event", "alembic_version"} <= tables


def test_bad_setting_exits_with_its_name(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HELPDESK_PORT", "http")
    with pytest.raises(SystemExit) as exit_:
        main(["serve"])
    assert exit_.value.code == 2
    assert "HELPDESK_PORT: expected a whole number" in capsys.readouterr().err


def test_serve_refuses_a_broken_faq_naming_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad.yaml").write_text(
        "locale: ja\nentries:\n  - id: a\n    question: q\n", encoding="utf-8"
    )
    monkeypatch.setenv("HELPDESK_FAQ_DIR", str(tmp_path))
    assert main(["serve"]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'bad.yaml'}:3:" in err and "answer" in err
    assert "not starting" in err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_serve_runs_the_real_server(tmp_path: Path, database: Database) -> None:
    port = _free_port()
    env = {**os.environ, **database.env, "HELPDESK_PORT": str(port)}
    helpdesk = Path(sys.executable).parent / "helpdesk"
    proc = await asyncio.create_subprocess_exec(
        str(helpdesk), "serve", env=env, stderr=asyncio.subprocess.PIPE, cwd=tmp_path
    )
    try:
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as http:
            deadline = time.monotonic() + 60
            while True:
                try:
                    async with http.get(f"{base}/healthz") as r:
                        assert r.status == 200
                        break
                except aiohttp.ClientConnectionError:
                    assert proc.returncode is None, "server exited"
                    assert time.monotonic() < deadline, "server did not start"
                    await asyncio.sleep(0.2)
            async with http.post(f"{base}/api/chat/sessions") as r:
                token = (await r.json())["token"]
            async with http.post(
                f"{base}/api/chat/messages",
                json={"text": "パスワード忘れた"},
                headers={"Authorization": f"Bearer {token}"},
            ) as r:
                replies = (await r.json())["messages"]
        assert replies[0]["role"] == "bot" and "パスワード" in replies[0]["text"]
    finally:
        proc.terminate()
        _, err = await asyncio.wait_for(proc.communicate(), timeout=20)
    stderr = err.decode()
    # Structured log lines, and no message bodies at INFO.
    assert '"event": "message handled"' in stderr
    assert "パスワード忘れた" not in stderr


async def test_faq_unanswered_groups_what_the_engine_recorded(
    harness: Harness,
    database: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    questions = ["駐車場はありますか", "駐車場はありますか？", "ペットは入れますか"]
    for who, text in enumerate(questions):
        await harness.say(text, who=str(who))
    draft = tmp_path / "draft.yaml"
    for name, value in database.env.items():
        monkeypatch.setenv(name, value)
    # In process with the harness clock: the 30-day window must follow the clock the
    # questions were recorded by, whatever today's date is.
    argv = ["faq", "unanswered", "--draft", str(draft)]
    harness.clock.advance(days=29)
    code = await asyncio.to_thread(main, argv, harness.clock)
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["2x", "[ja]"] and "駐車場はありますか" in lines[0]
    assert any("1x [ja] ペットは入れますか" in line for line in lines)
    assert "draft-002" in draft.read_text(encoding="utf-8")
    harness.clock.advance(days=2)  # now all are older than the window
    assert await asyncio.to_thread(main, argv, harness.clock) == 0
    assert "no unanswered questions in the last 30 days" in capsys.readouterr().out


async def report_of(
    database: Database, build: Callable[[SessionFactory], Awaitable[None]], first: str, last: str
) -> str:
    """`helpdesk report --from first --to last`, run as a command on a database `build`
    filled; its output."""
    from bot.db import make_engine, make_session_factory, upgrade

    engine = make_engine(database.url, database.schema)
    await upgrade(engine)
    await build(make_session_factory(engine))
    await engine.dispose()
    helpdesk = Path(sys.executable).parent / "helpdesk"
    proc = await asyncio.create_subprocess_exec(
        str(helpdesk), "report", "--from", first, "--to", last,
        env={**os.environ, **database.env, "HELPDESK_TIMEZONE": "UTC"},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0, err.decode()
    return out.decode()


async def test_report_prints_the_kpis(database: Database) -> None:
    from tests.surveys.test_kpis import build_history

    out = await report_of(database, build_history, "2026-11-01", "2026-11-07")
    table = dict((line[:20].strip(), line[20:].strip()) for line in out.splitlines()[:9])
    assert table["conversations"] == "6"
    assert table["self-resolution"] == "33.3%"
    assert table["handoff"] == "33.3%"
    assert table["FCR, bot-resolved"] == "66.7% (n=3)"
    assert table["first response"] == "median 12.5 min, p90 18.5 min (n=2)"
    assert "駐車場はありますか" in out
    assert "NPS" in out and "-100.0 (n=1)" in out


async def test_report_lists_what_survey_comments_say(database: Database) -> None:
    from tests.surveys.comment_history import build_comment_history

    out = await report_of(database, build_comment_history, "2026-11-15", "2026-11-21")
    lines = out.splitlines()
    (detractors,) = [line.strip() for line in lines if line.strip().startswith("detractors:")]
    assert "配送料金 (2, +1)" in detractors and "late (2, +2)" in detractors
    (passives,) = [line.strip() for line in lines if line.strip().startswith("passives:")]
    assert passives == "passives: —"
    (ces,) = [line for line in lines if line.startswith("CES ")]
    # 7 and 2: mean 4.5, one of two easy.
    assert ces.split(None, 1)[1] == "4.50 of 7, 50.0% easy (n=2)"
