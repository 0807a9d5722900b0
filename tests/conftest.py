"""Shared fixtures: a real database (SQLite and PostgreSQL) and a small FAQ."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

POSTGRES_DSN = "postgresql://postgres@127.0.0.1:5432/test"
POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


@dataclass(frozen=True)
class Database:
    """Where a test's tables live: a fresh SQLite file or a fresh PostgreSQL schema."""

    url: str
    schema: str | None

    @property
    def env(self) -> dict[str, str]:
        env = {"HELPDESK_DATABASE_URL": self.url}
        if self.schema:
            env["HELPDESK_DATABASE_SCHEMA"] = self.schema
        return env


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        yield Database(f"sqlite+aiosqlite:///{tmp_path / 'helpdesk.db'}", None)
        return
    async with postgres_schema() as db:
        yield db


@pytest.fixture
async def postgres() -> AsyncIterator[Database]:
    """PostgreSQL only: for what SQLite cannot do (several server processes)."""
    async with postgres_schema() as db:
        yield db


@asynccontextmanager
async def postgres_schema() -> AsyncIterator[Database]:
    """A fresh schema on the local PostgreSQL, dropped afterwards."""
    try:
        admin = await asyncpg.connect(POSTGRES_DSN, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"no PostgreSQL reachable at {POSTGRES_DSN}: {exc}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    await admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield Database(POSTGRES_URL, schema)
    finally:
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()


TEST_FAQ_JA = """\
locale: ja
entries:
  - id: password-reset
    category: アカウント
    question: パスワードを忘れた場合はどうすればいいですか？
    alternates: [パスワードの再設定方法, パスワードがわからない]
    answer: |
      ログイン画面の「パスワードをお忘れの方」から再設定用メールを受け取ってください。
    examples: [パスワード忘れた]
  - id: plan-pricing
    category: 料金
    question: 料金プランを教えてください
    alternates: [月額はいくらですか, 有料プランの値段]
    answer: |
      無料プランと、月額600円のプロプランがあります。
  - id: cancel-subscription
    category: 料金
    question: 有料プランを解約したい
    alternates: [サブスクをやめたい, 解約方法]
    answer: |
      設定 > プラン から「解約する」を押してください。日割りの返金はありません。
"""

TEST_FAQ_EN = """\
locale: en
entries:
  - id: export-notes-en
    category: Data
    question: How do I export my notes?
    alternates: [download all my notes, export to PDF or Markdown]
    answer: |
      Open Settings > Data and choose Export; you get a ZIP of Markdown files.
  - id: password-reset-en
    category: Account
    question: I forgot my password
    alternates: [reset my password, cannot log in password]
    answer: |
      Use "Forgot password?" on the sign-in page to get a reset link by email.
"""


@pytest.fixture
def faq_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "faq"
    directory.mkdir()
    (directory / "ja.yaml").write_text(TEST_FAQ_JA, encoding="utf-8")
    (directory / "en.yaml").write_text(TEST_FAQ_EN, encoding="utf-8")
    return directory
