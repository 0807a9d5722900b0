"""The reports API over HTTP, on the hand-built history of the KPI tests."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.app import SERVICES, create_app
from bot.config import Settings
from tests.conftest import Database
from tests.fakes.clock import ManualClock
from tests.surveys.test_kpis import NOW, build_history

ADMIN = "admin-token-0123456789"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
ClientMaker = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]


@pytest.fixture
async def client(
    aiohttp_client: ClientMaker, database: Database, faq_dir: Path
) -> AsyncIterator[TestClient[Any, Any]]:
    settings = Settings.from_env(
        {**database.env, "HELPDESK_FAQ_DIR": str(faq_dir), "HELPDESK_ADMIN_TOKEN": ADMIN,
         "HELPDESK_TIMEZONE": "UTC"}
    )  # fmt: skip
    test_client = await aiohttp_client(create_app(settings, clock=ManualClock(NOW)))
    services = test_client.app[SERVICES]
    await build_history(services.sessions)
    yield test_client
    await test_client.close()


PERIOD = "from=2026-11-01&to=2026-11-07"


async def test_summary(client: TestClient[Any, Any]) -> None:
    r = await client.get(f"/api/reports/summary?{PERIOD}", headers=AUTH)
    assert r.status == 200
    report = await r.json()
    assert report["conversations"] == 6
    assert report["self_resolution_rate"] == 33.3
    assert (report["containment_rate"], report["handoff_rate"]) == (66.7, 33.3)
    assert report["fcr"] == {
        "bot": {"rate": 66.7, "eligible": 3}, "agent": {"rate": 100.0, "eligible": 1},
    }  # fmt: skip
    assert report["first_response_seconds"]["median"] == 750
    assert report["faq_hits"][0] == {"id": "password-reset", "count": 2}
    assert report["unanswered"] == [{"question": "駐車場はありますか", "count": 1}]
    assert report["csat"] == {"score": 100.0, "responses": 1}
    assert report["nps"] == {"score": -100.0, "responses": 1}
    assert report["surveys"] == {"sent": 3, "responses": 2, "response_rate": 66.7}
    line = await (
        await client.get(f"/api/reports/summary?{PERIOD}&channel=line", headers=AUTH)
    ).json()
    assert line["conversations"] == 2


async def test_daily_series(client: TestClient[Any, Any]) -> None:
    days = (await (await client.get(f"/api/reports/daily?{PERIOD}", headers=AUTH)).json())["days"]
    assert [d["day"] for d in days][:2] == ["2026-11-01", "2026-11-02"] and len(days) == 7
    assert [d["conversations"] for d in days] == [1, 1, 0, 1, 1, 1, 1]
    assert days[2]["self_resolution_rate"] is None  # nothing to divide on an empty day


async def test_conversations_csv(client: TestClient[Any, Any]) -> None:
    r = await client.get(f"/api/reports/conversations.csv?{PERIOD}", headers=AUTH)
    assert r.status == 200 and r.content_type == "text/csv"
    rows = list(csv.DictReader(io.StringIO(await r.text())))
    assert len(rows) == 6
    handed = [row for row in rows if row["handoff_reason"]]
    assert [row["handoff_reason"] for row in handed] == ["customer_request", "no_match"]
    assert rows[0]["faq_entries"] == "password-reset" and rows[0]["resolution"] == "self"
    assert (rows[0]["survey"], rows[0]["survey_score"]) == ("csat", "5")
    assert rows[1]["survey"] == ""


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("from=2026-13-01", '"from" must be a date'),
        ("from=2026-11-08&to=2026-11-01", '"from" is after "to"'),
        ("from=2020-01-01&to=2026-11-01", "longer than 366 days"),
        # Found by the fuzz run (tests/test_fuzz_api.py): date arithmetic at the ends of
        # what `date` holds overflowed, and PostgreSQL refuses NUL: each was a 500.
        ("to=9999-12-31", '"to" must be a day from 1900-01-01 to 9999-12-30'),
        ("to=0001-01-03", '"to" must be a day from 1900-01-01'),
        ("from=0001-01-01&to=2026-11-01", '"from" must be a day from 1900-01-01'),
        ("channel=line%00", '"channel" is not a channel name'),
    ],
)
@pytest.mark.parametrize(
    "path", ["/api/reports/summary", "/api/reports/daily", "/api/reports/conversations.csv"]
)
async def test_bad_periods(
    client: TestClient[Any, Any], path: str, query: str, reason: str
) -> None:
    r = await client.get(f"{path}?{query}", headers=AUTH)
    assert r.status == 400 and reason in (await r.json())["error"]


async def test_reports_need_the_admin_token(client: TestClient[Any, Any]) -> None:
    for path in ("summary", "daily", "conversations.csv"):
        assert (await client.get(f"/api/reports/{path}")).status == 401
