"""Survey comments analysed in every report: the summary API, the CSV, `helpdesk report`
and the Slack digest, on the hand-built comments of `comment_history` (both databases)."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import AsyncIterator
from datetime import UTC, date, time
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient
from sqlmodel import col, select

from bot.app import SERVICES, create_app
from bot.config import Settings
from bot.models import SlackPost
from surveys.comment_terms import CommentAnalyzer
from surveys.digest import DailyDigest, DigestSchedule
from tests.conftest import Database
from tests.fakes.clock import ManualClock
from tests.surveys.comment_history import at, build_comment_history

ADMIN = "admin-token-0123456789"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
PERIOD = "from=2026-11-15&to=2026-11-21"


@pytest.fixture
async def client(
    aiohttp_client: AiohttpClient, database: Database, faq_dir: Path
) -> AsyncIterator[TestClient[Any, Any]]:
    settings = Settings.from_env(
        {**database.env, "HELPDESK_FAQ_DIR": str(faq_dir), "HELPDESK_ADMIN_TOKEN": ADMIN,
         "HELPDESK_TIMEZONE": "UTC", "HELPDESK_DIGEST_TIME": "off"}
    )  # fmt: skip
    client = await aiohttp_client(create_app(settings, clock=ManualClock(at(25))))
    await build_comment_history(client.app[SERVICES].sessions)
    yield client


def terms(rows: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    return {r["term"]: (r["count"], r["previous"]) for r in rows}


async def test_the_summary_sets_praise_beside_complaints(client: TestClient[Any, Any]) -> None:
    r = await client.get(f"/api/reports/summary?{PERIOD}", headers=AUTH)
    assert r.status == 200
    comments = (await r.json())["comments"]
    assert set(comments) == {"promoters", "passives", "detractors"}
    promoters, detractors = terms(comments["promoters"]), terms(comments["detractors"])
    # Each recurs in two comments of its segment; 配送料金 was in one the week before.
    assert promoters["対応"] == (2, 0)
    assert promoters["staff"] == (2, 0) and promoters["friendly"] == (2, 0)
    assert detractors["配送料金"] == (2, 1) and detractors["高い"] == (2, 1)
    assert detractors["delivery"] == (2, 0) and detractors["late"] == (2, 0)
    assert not set(promoters) & set(detractors)
    assert comments["passives"] == []  # one comment: nothing recurs
    fee = next(t for t in comments["detractors"] if t["term"] == "配送料金")
    assert fee["change"] == 1
    assert fee["examples"] == ["配送料金が高すぎると思います", "配送料金が高い"]  # newest first

    # One channel: only its comments.
    r = await client.get(f"/api/reports/summary?{PERIOD}&channel=web", headers=AUTH)
    web = (await r.json())["comments"]
    assert "配送料金" not in terms(web["detractors"]) and "delivery" in terms(web["detractors"])


async def test_the_csv_has_each_comment_with_its_segment_and_terms(
    client: TestClient[Any, Any],
) -> None:
    r = await client.get(f"/api/reports/conversations.csv?{PERIOD}", headers=AUTH)
    rows = list(csv.DictReader(io.StringIO(await r.text())))
    assert len(rows) == 9  # 15-21 Nov
    fee = next(row for row in rows if row["survey_comment"] == "配送料金が高い")
    assert (fee["survey"], fee["survey_score"], fee["survey_segment"]) == ("nps", "2", "detractors")
    assert fee["comment_terms"] == "配送料金; 高い"
    passive = next(row for row in rows if row["survey_comment"] == "普通でした")
    assert passive["survey_segment"] == "passives"


async def test_the_digest_names_what_detractors_and_promoters_mention(
    client: TestClient[Any, Any],
) -> None:
    services = client.app[SERVICES]
    schedule = DigestSchedule(time(9, 0), UTC)
    digest = DailyDigest(
        services.sessions, schedule, ManualClock(at(25)), logging.getLogger("test"),
        CommentAnalyzer(),
    )  # fmt: skip
    assert await digest.post_for(date(2026, 11, 15))
    async with services.sessions() as session:
        (post,) = (await session.exec(select(SlackPost))).all()
    lines = post.payload["text"].splitlines()
    (detractors,) = [line for line in lines if line.startswith("Detractors mention")]
    (promoters,) = [line for line in lines if line.startswith("Promoters mention")]
    # 15 Nov: two comments each; the day before, one on delivery fees.
    assert detractors == "Detractors mention: 配送料金 (2, +1), 高い (2, +1)"
    assert promoters == "Promoters mention: 対応 (2, +2)"
    # A day where nothing recurs has no such line.
    assert await digest.post_for(date(2026, 11, 16))
    async with services.sessions() as session:
        posts = (await session.exec(select(SlackPost).order_by(col(SlackPost.id)))).all()
    assert "mention" not in posts[-1].payload["text"]
