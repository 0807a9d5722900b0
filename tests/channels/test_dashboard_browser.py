"""The KPI dashboard page in a real browser (Debian's Chromium) against the real app,
on the hand-built history of the KPI tests (SQLite, to keep it fast)."""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Locator, Page, async_playwright, expect
from pytest_aiohttp import AiohttpServer

from bot.app import SERVICES, create_app
from bot.config import Settings
from tests.fakes.chromium import CHROMIUM, CHROMIUM_ARGS, needs_chromium
from tests.fakes.clock import ManualClock
from tests.surveys.comment_history import build_comment_history
from tests.surveys.test_kpis import NOW, build_history

pytestmark = needs_chromium
TIMEOUT_MS = 10_000
ADMIN = "admin-token-0123456789"
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# The elements sticking out on the right, to tell what to fix when the page is too wide.
WIDEST = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > innerWidth + 1).slice(0, 8)
  .map(e => `${e.tagName}#${e.id}.${e.className}: ${e.getBoundingClientRect().right}`)"""


@pytest.fixture
async def dash_server(aiohttp_server: AiohttpServer, tmp_path: Path, faq_dir: Path) -> TestServer:
    settings = Settings.from_env(
        {"HELPDESK_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'dash.db'}",
         "HELPDESK_FAQ_DIR": str(faq_dir), "HELPDESK_ADMIN_TOKEN": ADMIN,
         "HELPDESK_TIMEZONE": "UTC"}
    )  # fmt: skip
    server = await aiohttp_server(create_app(settings, clock=ManualClock(NOW)))
    await build_history(server.app[SERVICES].sessions)
    await build_comment_history(server.app[SERVICES].sessions)
    return server


@pytest.fixture
async def dash_chromium() -> AsyncIterator[Browser]:
    assert CHROMIUM is not None
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        await browser.close()


@pytest.fixture
def dash_external(dash_server: TestServer) -> list[str]:
    """URLs the page asked for outside the test server: there must be none."""
    return []


async def open_page(
    browser: Browser, server: TestServer, external: list[str], viewport: dict[str, int]
) -> Page:
    context = await browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    base = str(server.make_url("/"))
    page.on("request", lambda r: None if r.url.startswith(base) else external.append(r.url))
    await page.goto(str(server.make_url("/dashboard")))
    return page


async def sign_in(page: Page, token: str = ADMIN) -> None:
    await page.get_by_label("Admin token").fill(token)
    await page.get_by_role("button", name="Open dashboard").click()


async def show_period(page: Page, first: str = "2026-11-01", last: str = "2026-11-07") -> None:
    await page.locator("#from").fill(first)
    await page.locator("#to").fill(last)
    await page.get_by_role("button", name="Show", exact=True).click()
    await expect(page.locator("#status")).to_contain_text(f"{first} to {last}")


def tile(page: Page, kpi: str) -> Locator:
    return page.locator(f'[data-kpi="{kpi}"] .value')


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


async def test_dashboard_shows_the_period(
    dash_chromium: Browser, dash_server: TestServer, dash_external: list[str]
) -> None:
    page = await open_page(dash_chromium, dash_server, dash_external, LAPTOP)
    await sign_in(page)
    await show_period(page)

    await expect(tile(page, "conversations")).to_have_text("6")
    await expect(tile(page, "self_resolution")).to_have_text("33.3%")
    await expect(tile(page, "containment")).to_have_text("66.7%")
    await expect(tile(page, "handoff")).to_have_text("33.3%")
    await expect(tile(page, "fcr_bot")).to_have_text("66.7%")
    await expect(tile(page, "fcr_agent")).to_have_text("100.0%")
    await expect(tile(page, "first_response")).to_have_text("13 min")  # 750 s
    await expect(tile(page, "csat")).to_have_text("100.0%")  # one CSAT answer, a 5
    await expect(tile(page, "nps")).to_have_text("-100.0")  # one NPS answer, a detractor
    await expect(page.locator('[data-kpi="nps"] .note')).to_have_text("1 response")
    await expect(tile(page, "ces")).to_have_text("—")
    # No comment recurs in this period: each segment says so.
    await expect(page.locator("#comments .empty")).to_have_count(3)

    for chart in ("chart-volume", "chart-rates", "chart-first-response"):
        svg = page.locator(f"#{chart} svg")
        await expect(svg).to_have_attribute("role", "img")
        await expect(svg.locator("title").first).not_to_be_empty()
        await expect(page.locator(f"#{chart} table tbody tr")).to_have_count(7)
    await expect(page.locator("#chart-volume g.day")).to_have_count(7)
    assert await page.locator("#chart-volume rect").count() == 6  # one per conversation-day
    await expect(page.locator("#chart-volume .legend li")).to_have_text(["Web", "LINE"])

    unanswered = page.locator("#table-unanswered")
    await expect(unanswered.get_by_role("cell", name="駐車場はありますか")).to_be_visible()
    hits = page.locator("#table-faq-hits tbody tr").first
    await expect(hits).to_contain_text("password-reset")

    await page.locator("#channel").select_option("line")
    await expect(page.locator("#status")).to_contain_text("LINE")
    await expect(tile(page, "conversations")).to_have_text("2")

    async with page.expect_download() as info:
        await page.get_by_role("button", name="Download CSV").click()
    download = await info.value
    assert download.suggested_filename == "conversations_2026-11-01_2026-11-07_line.csv"
    csv_path = await download.path()
    assert csv_path is not None and len(csv_path.read_text().splitlines()) == 1 + 2

    # The token stays for the tab: a reload goes straight to the figures.
    await page.reload()
    await expect(page.locator('[data-kpi="conversations"]')).to_be_visible()
    assert dash_external == []


async def test_wrong_token_shows_the_error(
    dash_chromium: Browser, dash_server: TestServer, dash_external: list[str]
) -> None:
    page = await open_page(dash_chromium, dash_server, dash_external, LAPTOP)
    await sign_in(page, "not-the-token")
    await expect(page.get_by_role("alert")).to_contain_text("not accepted")
    await expect(page.get_by_label("Admin token")).to_be_visible()
    await expect(page.locator("#dashboard")).to_be_hidden()
    assert await page.evaluate("sessionStorage.length") == 0

    await sign_in(page)
    await expect(page.locator('[data-kpi="conversations"]')).to_be_visible()


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
async def test_screenshot(
    dash_chromium: Browser,
    dash_server: TestServer,
    dash_external: list[str],
    tmp_path: Path,
    viewport: dict[str, int],
) -> None:
    page = await open_page(dash_chromium, dash_server, dash_external, viewport)
    await sign_in(page)
    await show_period(page)
    await expect(page.locator("#chart-volume rect").first).to_be_visible()
    # Nothing sticks out sideways, on a phone either.
    wide = await page.evaluate(WIDEST)
    assert await page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], wide

    path = tmp_path / f"dashboard-{viewport['width']}.png"
    await page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 0
    width, height = png_size(path)
    assert width == viewport["width"]
    assert height >= viewport["height"]


async def test_the_comment_chart_sets_praise_beside_complaints(
    dash_chromium: Browser, dash_server: TestServer, dash_external: list[str]
) -> None:
    page = await open_page(dash_chromium, dash_server, dash_external, LAPTOP)
    await sign_in(page)
    await show_period(page, "2026-11-15", "2026-11-21")
    # CES answers of 7 and 2 in the comment history.
    await expect(tile(page, "ces")).to_have_text("4.50")
    await expect(page.locator('[data-kpi="ces"] .note')).to_have_text("50.0% easy · 2 responses")
    # By channel (both CES answers came on the web) and by resolution (both bot-resolved).
    ces_rows = page.locator("#table-ces tbody tr")
    await expect(ces_rows).to_have_count(2)
    await expect(ces_rows.nth(0)).to_contain_text("Web")
    await expect(ces_rows.nth(0).locator("td").nth(1)).to_have_text("4.50")
    await expect(ces_rows.nth(1)).to_contain_text("Resolved by the bot")
    await expect(ces_rows.nth(1).locator("td").nth(3)).to_have_text("2")

    detractors = page.locator("#comments-detractors")
    await expect(detractors.locator("svg")).to_have_attribute("role", "img")
    terms = detractors.locator("g.term")
    await expect(terms).to_have_count(4)
    assert await terms.evaluate_all("gs => gs.map(g => g.dataset.term)") == [
        "delivery", "late", "配送料金", "高い",
    ]
    fee = detractors.locator('g.term[data-term="配送料金"]')
    # Two comments now, one the week before.
    await expect(fee.locator("text.count")).to_have_text("2 ▲ +1")
    await expect(fee.locator("rect title")).to_contain_text("配送料金が高すぎると思います")
    # Bars scale with the count: every detractor term has two comments, so all are as long.
    widths = await terms.locator("rect").evaluate_all(
        "rs => rs.map(r => r.getBoundingClientRect().width)"
    )
    assert len(set(round(w) for w in widths)) == 1 and widths[0] > 50
    await expect(detractors.locator(".examples li").first).to_contain_text("“Late delivery")

    promoters = page.locator("#comments-promoters g.term")
    assert "対応" in await promoters.evaluate_all("gs => gs.map(g => g.dataset.term)")
    assert "配送料金" not in await promoters.evaluate_all("gs => gs.map(g => g.dataset.term)")
    await expect(page.locator("#comments-passives .empty")).to_be_visible()

    # One channel: the LINE comments only.
    await page.locator("#channel").select_option("line")
    await expect(page.locator("#status")).to_contain_text("LINE")
    await expect(detractors.locator("g.term")).to_have_count(2)
    assert dash_external == []
