"""The web chat widget in a real browser (Debian's Chromium) against the real app.

Each test gets a fresh server, database and browser context, so no state leaks between them.
Playwright's CSS locators pierce the widget's (open) shadow root.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import (
    Browser,
    BrowserContext,
    Dialog,
    Page,
    Route,
    WebSocket,
    async_playwright,
    expect,
)
from pytest_aiohttp import AiohttpServer
from sqlalchemy import delete
from sqlmodel import col, select

from bot.app import SERVICES, create_app
from bot.config import Settings
from bot.messages import Inbound
from bot.models import ChatSession, Identity, Role
from bot.store import add_message, open_conversation_for
from bot.texts import DEFAULT_TEXTS
from channels.web.sessions import identity_hash
from faq.loader import load_faq_dir
from faq.model import FaqEntry
from tests.fakes.chromium import CHROMIUM, CHROMIUM_ARGS, needs_chromium
from tests.fakes.clock import ManualClock

pytestmark = needs_chromium
TIMEOUT_MS = 10_000
JA = DEFAULT_TEXTS["ja"]
EN = DEFAULT_TEXTS["en"]
OPEN_JA = "サポートチャットを開く"  # the bubble's aria-label in widget.js
LINE_JA = "LINEで続ける"  # the "continue on LINE" button and card title in widget.js
ADD_FRIEND_URL = "https://lin.ee/example"
LINE_ENV = {
    "LINE_CHANNEL_SECRET": "s" * 32,
    "LINE_CHANNEL_ACCESS_TOKEN": "t" * 40,
    # Only the engine's "linked" reply heads there; port 9 refuses at once.
    "LINE_API_BASE_URL": "http://127.0.0.1:9",
    "HELPDESK_LINE_ADD_FRIEND_URL": ADD_FRIEND_URL,
}

NewPage = Callable[..., Awaitable[Page]]


@pytest.fixture
def browser_env() -> dict[str, str]:
    """Extra server settings; a test overrides it with `parametrize("browser_env", ...)`."""
    return {}


@pytest.fixture
def browser_settings(tmp_path: Path, browser_env: dict[str, str]) -> Settings:
    return Settings.from_env(
        {"HELPDESK_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'hd.db'}", **browser_env}
    )


@pytest.fixture
async def browser_server(aiohttp_server: AiohttpServer, browser_settings: Settings) -> TestServer:
    return await aiohttp_server(create_app(browser_settings))


@pytest.fixture
def browser_base_url(browser_server: TestServer) -> str:
    return str(browser_server.make_url("/"))


@pytest.fixture
async def browser_chromium() -> AsyncIterator[Browser]:
    assert CHROMIUM is not None
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        await browser.close()


@pytest.fixture
def browser_dialogs() -> list[str]:
    """Messages of every alert/confirm the page opened: an injected script would show here."""
    return []


@pytest.fixture
async def browser_new_page(
    browser_chromium: Browser, browser_server: TestServer, browser_dialogs: list[str]
) -> AsyncIterator[NewPage]:
    """Opens pages, each in a fresh context, and closes them before the server stops.

    Depending on `browser_server` orders the teardown: an open widget WebSocket would
    otherwise hold up the server's graceful shutdown.
    """
    contexts: list[BrowserContext] = []

    async def on_dialog(dialog: Dialog) -> None:
        browser_dialogs.append(dialog.message)
        await dialog.dismiss()

    async def new_page(locale: str = "ja-JP") -> Page:
        context = await browser_chromium.new_context(locale=locale)
        contexts.append(context)
        context.set_default_timeout(TIMEOUT_MS)
        page = await context.new_page()
        page.on("dialog", on_dialog)
        return page

    yield new_page
    for context in contexts:
        await context.close()


def faq_entry(settings: Settings, locale: str, word: str) -> FaqEntry:
    """The demo FAQ entry the server will answer with, so the test follows FAQ edits."""
    entries = [
        e for e in load_faq_dir(settings.faq_dir) if e.locale == locale and word in e.question
    ]
    assert entries, f"the demo FAQ has no {locale} entry about {word!r}"
    return entries[0]


async def open_chat(page: Page, url: str, label: str = OPEN_JA) -> None:
    await page.goto(url)
    await page.get_by_role("button", name=label).click()
    await expect(page.get_by_role("textbox")).to_be_focused()


async def send(page: Page, text: str) -> None:
    box = page.get_by_role("textbox")
    await box.fill(text)
    await box.press("Enter")


async def message_ids(page: Page) -> list[int]:
    ids = await page.locator(".msg[data-id]").evaluate_all("ns => ns.map(n => +n.dataset.id)")
    return [int(i) for i in ids]


async def agent_says(server: TestServer, session_id: str, text: str) -> None:
    """Store an agent reply the way handoff will: in the history and queued for delivery."""
    services = server.app[SERVICES]
    async with services.sessions() as session, session.begin():
        identity = (
            await session.exec(select(Identity).where(Identity.external_id == session_id))
        ).one()
        conversation = await open_conversation_for(session, identity)
        assert conversation is not None
        await add_message(session, conversation, Role.AGENT, text, services.clock())
    services.outbox.notify()


async def test_faq_answer_buttons_and_history_survive_reload(
    browser_new_page: NewPage,
    browser_dialogs: list[str],
    browser_settings: Settings,
    browser_base_url: str,
) -> None:
    entry = faq_entry(browser_settings, "ja", "パスワード")
    page = await browser_new_page()
    await open_chat(page, browser_base_url)

    await send(page, "パスワードを忘れました")

    answer = page.locator(".msg.bot .text").filter(has_text=entry.answer.strip().splitlines()[0])
    await expect(answer).to_have_count(1)
    # Exact text with its line breaks, and CSS that shows them.
    assert await answer.text_content() == entry.answer.strip()
    assert await answer.evaluate("n => getComputedStyle(n).whiteSpace") == "pre-wrap"
    yes = page.get_by_role("button", name=JA["helpful_yes"])
    no = page.get_by_role("button", name=JA["helpful_no"])
    await expect(yes).to_be_enabled()
    await expect(no).to_be_enabled()

    await yes.click()
    await expect(page.locator(".msg.customer .text").last).to_have_text(JA["helpful_yes"])
    await expect(page.locator(".msg.bot .text").last).to_have_text(JA["glad_it_helped"])
    # Only the newest message's choices are live; the answered question's are spent.
    await expect(yes).to_be_disabled()
    await expect(no).to_be_disabled()

    # Replies arrive both in the POST response and over the WebSocket (connected by now):
    # each shows once, in id order.
    await page.wait_for_function("window.HelpdeskWidget.connected")
    before = await message_ids(page)
    assert before == sorted(set(before)), before
    assert len(before) == 5  # question, answer, did-it-help, button label, thanks

    await page.reload()
    await page.get_by_role("button", name=OPEN_JA).click()
    await expect(page.locator(".msg.bot .text").last).to_have_text(JA["glad_it_helped"])
    await expect(page.locator(".msg[data-id]")).to_have_count(len(before))
    assert await message_ids(page) == before
    await expect(answer).to_have_count(1)
    await expect(page.locator(".choices button:enabled")).to_have_count(0)
    assert browser_dialogs == []


async def test_html_in_messages_is_shown_as_text(
    browser_new_page: NewPage, browser_dialogs: list[str], browser_base_url: str
) -> None:
    payload = "<img src=x onerror=alert(1)>\n<b>bold?</b>"
    page = await browser_new_page()
    await open_chat(page, browser_base_url)

    # Without LINE settings the server has no add-friend URL, and the widget shows nothing
    # about LINE (the positive case is test_continue_on_line_...).
    await page.wait_for_function("window.HelpdeskWidget.lineUrl === null")
    await expect(page.locator(".panel")).not_to_contain_text("LINE")
    await expect(page.locator(".line-open, .line")).to_have_count(0)

    await send(page, payload)

    mine = page.locator(".msg.customer .text")
    await expect(page.locator(".msg.bot")).not_to_have_count(0)  # the bot answered
    await expect(mine).to_have_count(1)  # the server's copy replaced the optimistic one
    assert await mine.text_content() == payload
    assert await page.locator("img").count() == 0
    assert await page.locator("b").count() == 0
    assert browser_dialogs == []


async def test_agent_reply_is_pushed_and_caught_up_after_reconnect(
    browser_new_page: NewPage, browser_server: TestServer, browser_base_url: str
) -> None:
    page = await browser_new_page()
    await open_chat(page, browser_base_url)
    await send(page, "オペレーターと話したい")
    # The handoff notice (a queue-position notice may follow it at any moment).
    handoff = page.locator(".msg.bot .text").filter(has_text=JA["handoff_requested"])
    await expect(handoff).to_have_count(1)
    await page.wait_for_function("window.HelpdeskWidget.connected")
    session_id = await page.evaluate("window.HelpdeskWidget.sessionId")

    await agent_says(browser_server, session_id, "担当の佐藤です。\nご用件を伺います。")
    agent = page.locator(".msg.agent")
    await expect(agent).to_have_count(1)
    await expect(agent.locator(".who")).to_have_text("担当者")
    assert await agent.locator(".text").text_content() == "担当の佐藤です。\nご用件を伺います。"

    # Drop the socket and reply while the widget is away: the push reaches no one, so the
    # message can only come from the catch-up after the reconnect.
    await browser_server.app[SERVICES].hub.close_all()
    await page.wait_for_function("!window.HelpdeskWidget.connected")
    await agent_says(browser_server, session_id, "切断中のメッセージ")
    await expect(agent).to_have_count(2)
    await expect(agent.last.locator(".text")).to_have_text("切断中のメッセージ")
    await page.wait_for_function("window.HelpdeskWidget.connected")
    ids = await message_ids(page)
    assert ids == sorted(set(ids)), ids

    # With the panel closed, a reply marks the bubble as unread until it is opened.
    await page.keyboard.press("Escape")
    await expect(page.get_by_role("dialog")).to_be_hidden()
    await agent_says(browser_server, session_id, "まだいらっしゃいますか？")
    unread = page.get_by_role("button", name=f"{OPEN_JA} (新着メッセージがあります)", exact=True)
    await unread.click()
    await expect(agent.last.locator(".text")).to_have_text("まだいらっしゃいますか？")
    await expect(page.get_by_role("button", name=OPEN_JA, exact=True)).to_be_visible()


async def test_english_ui_and_stale_tokens_start_a_new_session(
    browser_new_page: NewPage,
    browser_server: TestServer,
    browser_settings: Settings,
    browser_base_url: str,
) -> None:
    entry = faq_entry(browser_settings, "en", "export")
    first_line = entry.answer.strip().splitlines()[0]
    page = await browser_new_page(locale="en-US")
    # A token the server never issued, as if the database had been reset since the last visit:
    # loading the history gets a 401 and the widget forgets the session.
    await page.goto(browser_base_url)
    await page.evaluate(
        "([key, value]) => localStorage.setItem(key, value)",
        [
            "helpdesk-widget:" + browser_base_url.rstrip("/"),
            '{"session_id": "gone", "token": "stale"}',
        ],
    )
    await open_chat(page, browser_base_url, label="Open support chat")
    await page.wait_for_function("window.HelpdeskWidget.sessionId === null")
    await expect(page.get_by_role("button", name="Send")).to_be_visible()

    await send(page, "how do I export my notes?")
    answer = page.locator(".msg.bot .text").filter(has_text=first_line)
    await expect(answer).to_have_count(1)
    await expect(page.get_by_role("button", name=EN["helpful_no"])).to_be_enabled()
    first_session = await page.evaluate("window.HelpdeskWidget.sessionId")
    assert first_session is not None

    # The token dies while the page is open: the next send gets a 401, and the widget
    # starts a new session, drops the old history and sends again.
    async with browser_server.app[SERVICES].sessions() as session, session.begin():
        await session.exec(delete(ChatSession))
    await send(page, "How can I export my notes?")
    await expect(page.locator(".msg.customer .text")).to_have_text(["How can I export my notes?"])
    await expect(answer).to_have_count(1)
    assert await page.evaluate("window.HelpdeskWidget.sessionId") not in (None, first_session)


@pytest.mark.parametrize("browser_env", [LINE_ENV], ids=["line"])
async def test_continue_on_line_shows_a_code_that_links_line_to_this_chat(
    browser_new_page: NewPage,
    browser_dialogs: list[str],
    browser_server: TestServer,
    browser_settings: Settings,
    browser_base_url: str,
) -> None:
    page = await browser_new_page()
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    await page.clock.install()  # real time, but the test can jump past the code's expiry
    await open_chat(page, browser_base_url)
    assert await page.evaluate("window.HelpdeskWidget.sessionId") is None

    # Asking for a code starts a session first.
    line_button = page.get_by_role("button", name=LINE_JA, exact=True)
    await line_button.click()
    card = page.get_by_role("region", name=LINE_JA)
    code = card.locator(".line-code")
    await expect(code).to_have_text(re.compile(r"^[A-Z2-9]{4}-[A-Z2-9]{4}$"))
    await expect(line_button).to_have_attribute("aria-expanded", "true")
    await expect(card.locator(".line-hint")).to_have_text(
        "LINEで友だち追加して、このコードを送ってください（10分間有効）"
    )
    link = card.get_by_role("link", name=re.compile(r"^LINEを開く\s*（新しいタブで開きます）$"))
    await expect(link).to_have_attribute("href", ADD_FRIEND_URL)
    await expect(link).to_have_attribute("target", "_blank")
    await expect(link).to_have_attribute("rel", "noopener")
    copy = card.get_by_role("button", name="コードをコピー")
    await expect(copy).to_be_focused()
    await copy.click()
    await expect(card.get_by_role("status")).to_have_text("コピーしました")
    first = await code.text_content()
    assert await page.evaluate("navigator.clipboard.readText()") == first

    # Once expired by the browser's clock, the code is struck out and can be replaced.
    await page.clock.fast_forward("10:01")
    await expect(card.locator(".line-hint")).to_have_text("このコードは有効期限が切れました。")
    await expect(copy).to_be_disabled()
    await expect(link).to_be_hidden()
    await card.get_by_role("button", name="新しいコードを発行").click()
    await expect(copy).to_be_enabled()
    shown = await code.text_content()
    assert shown is not None and re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", shown)
    assert shown != first

    # Without the Clipboard API (plain http, say) the copy falls back to execCommand; when
    # that fails too, the code is left selected for the customer to copy.
    await page.evaluate(
        "window.realClipboard = navigator.clipboard;"
        "Object.defineProperty(navigator, 'clipboard', {value: undefined})"
    )
    await copy.click()
    await expect(card.get_by_role("status")).to_have_text("コピーしました")
    assert await page.evaluate("realClipboard.readText()") == shown
    await page.evaluate("document.execCommand = () => false")
    await copy.click()
    await expect(card.get_by_role("status")).to_have_text(
        "コピーできませんでした。選択されたコードをコピーしてください。"
    )
    assert await page.evaluate("getSelection().toString()") == shown

    # The shown code is a real one for this chat's customer: sent from LINE, it joins the
    # LINE user to the web session's customer.
    session_id = await page.evaluate("window.HelpdeskWidget.sessionId")
    services = browser_server.app[SERVICES]
    result = await services.engine.handle(
        Inbound(channel="line", customer_ref="U123", received_at=services.clock(), text=shown)
    )
    texts = DEFAULT_TEXTS[browser_settings.default_locale]
    assert [m.text for m in result.replies] == [texts["linked"]]
    async with services.sessions() as session:
        customers = {
            i.external_id: i.customer_id for i in (await session.exec(select(Identity))).all()
        }
    assert customers["U123"] == customers[session_id]

    # The close button hides the card and gives the focus back to the LINE button.
    await card.get_by_role("button", name="LINEの案内を閉じる").click()
    await expect(card).to_be_hidden()
    await expect(line_button).to_be_focused()
    await expect(line_button).to_have_attribute("aria-expanded", "false")
    # Opening it again never shows the used code.
    await line_button.click()
    await expect(copy).to_be_focused()
    await expect(code).not_to_have_text(shown)
    await expect(code).to_have_text(re.compile(r"^[A-Z2-9]{4}-[A-Z2-9]{4}$"))
    assert browser_dialogs == []


FAILED_JA = "送信できませんでした。もう一度お試しください。"  # widget.js: ja.failed


@pytest.mark.parametrize("listed", [True, False], ids=["origin-listed", "origin-not-listed"])
async def test_widget_embedded_on_another_origin_works_only_when_that_origin_is_listed(
    aiohttp_server: AiohttpServer, browser_chromium: Browser, tmp_path: Path, listed: bool
) -> None:
    """A shop's page on its own origin embeds the widget from the helpdesk server: the
    widget takes its API base from its script's src, and the browser lets it talk to the
    API only when HELPDESK_CORS_ORIGINS lists the shop's origin."""
    widget_src: list[str] = []

    async def shop_page(request: web.Request) -> web.Response:
        html = (
            '<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>Shop</title>'
            f'</head><body><h1>Shop</h1><script src="{widget_src[0]}"></script></body></html>'
        )
        return web.Response(text=html, content_type="text/html")

    shop_app = web.Application()
    shop_app.router.add_get("/", shop_page)
    shop = await aiohttp_server(shop_app)
    shop_origin = str(shop.make_url("/")).rstrip("/")
    settings = Settings.from_env(
        {
            "HELPDESK_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'hd.db'}",
            "HELPDESK_CORS_ORIGINS": shop_origin if listed else "https://elsewhere.example",
        }
    )
    helpdesk = await aiohttp_server(create_app(settings))
    widget_src.append(str(helpdesk.make_url("/widget.js")))
    assert shop_origin != str(helpdesk.make_url("/")).rstrip("/")

    context = await browser_chromium.new_context(locale="ja-JP")
    try:
        context.set_default_timeout(TIMEOUT_MS)
        page = await context.new_page()
        await open_chat(page, str(shop.make_url("/")))
        await send(page, "パスワードを忘れました")
        if listed:
            entry = faq_entry(settings, "ja", "パスワード")
            answer = entry.answer.strip().splitlines()[0]
            await expect(page.locator(".msg.bot .text").filter(has_text=answer)).to_have_count(1)
            # The WebSocket went to the helpdesk server too (no CORS there; the token is
            # in its first frame).
            await page.wait_for_function("window.HelpdeskWidget.connected")
        else:
            await expect(page.locator(".status")).to_have_text(FAILED_JA)
            async with helpdesk.app[SERVICES].sessions() as session:
                assert (await session.exec(select(ChatSession))).all() == []
    finally:
        await context.close()


BUSY_JA = "送信が続いたため、少し時間をおいてからお試しください。"  # widget.js: ja.busy


@pytest.mark.parametrize(
    "browser_env", [{"HELPDESK_RATE_LIMIT_SESSION_PER_MINUTE": "1"}], ids=["one-a-minute"]
)
async def test_a_rate_limited_message_says_to_wait(
    browser_new_page: NewPage, browser_base_url: str
) -> None:
    page = await browser_new_page()
    await open_chat(page, browser_base_url)
    await send(page, "パスワードを忘れました")
    await expect(page.locator(".msg.bot")).not_to_have_count(0)
    await send(page, "料金プラン")
    await expect(page.locator(".status")).to_have_text(BUSY_JA)
    await expect(page.locator(".msg.failed .text")).to_have_text("料金プラン")


async def test_a_busy_server_is_asked_again_after_its_retry_after(
    browser_new_page: NewPage, browser_base_url: str
) -> None:
    page = await browser_new_page()
    posts: list[int] = []

    async def busy_once(route: Route) -> None:
        # The first send meets a saturated server (admission control's answer); the retry
        # goes through to the real one. History reads (GET) pass.
        if route.request.method != "POST":
            await route.continue_()
            return
        posts.append(len(posts))
        if len(posts) == 1:
            await route.fulfill(
                status=503, headers={"Retry-After": "1"}, content_type="application/json",
                body=json.dumps({"error": "the server is busy; try again in 1 s"}),
            )  # fmt: skip
        else:
            await route.continue_()

    await page.route("**/api/chat/messages*", busy_once)
    await open_chat(page, browser_base_url)
    await send(page, "パスワードを忘れました")
    stored = page.locator(".msg.customer[data-id] .text")
    await expect(stored).to_have_text(["パスワードを忘れました"])
    await expect(page.locator(".msg.bot")).not_to_have_count(0)
    await expect(page.locator(".status")).to_be_hidden()
    await expect(page.locator(".msg.failed")).to_have_count(0)
    assert len(posts) == 2


def stored_token(page: Page, base_url: str) -> Awaitable[str]:
    return page.evaluate(
        "key => JSON.parse(localStorage.getItem(key)).token",
        "helpdesk-widget:" + base_url.rstrip("/"),
    )


async def test_the_token_is_in_no_url_and_goes_in_the_sockets_first_frame(
    browser_new_page: NewPage, browser_server: TestServer, browser_base_url: str
) -> None:
    page = await browser_new_page()
    urls: list[str] = []
    sockets: list[WebSocket] = []
    frames: list[str] = []
    page.on("request", lambda request: urls.append(request.url))

    def on_websocket(ws: WebSocket) -> None:
        sockets.append(ws)
        ws.on("framesent", lambda payload: frames.append(str(payload)))

    page.on("websocket", on_websocket)
    await open_chat(page, browser_base_url)
    await send(page, "パスワードを忘れました")
    await expect(page.locator(".msg.bot")).not_to_have_count(0)
    await page.wait_for_function("window.HelpdeskWidget.connected")
    session_id = await page.evaluate("window.HelpdeskWidget.sessionId")
    await agent_says(browser_server, session_id, "担当の佐藤です。")
    await expect(page.locator(".msg.agent .text")).to_have_text(["担当の佐藤です。"])

    token = await stored_token(page, browser_base_url)
    assert [ws.url for ws in sockets] == [browser_base_url.replace("http", "ws") + "api/chat/ws"]
    assert [url for url in [*urls, *(ws.url for ws in sockets)] if token in url] == []
    assert json.loads(frames[0]) == {"type": "auth", "token": token}


def signed_in_page(external_id: str) -> str:
    """A host page that tells the widget who its signed-in user is."""
    signature = identity_hash(IDENTITY_SECRET, external_id)
    return (
        '<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>Shop</title></head>'
        f'<body><script src="/widget.js" data-external-id="{external_id}" '
        f'data-identity-hash="{signature}"></script></body></html>'
    )


IDENTITY_SECRET = "site-identity-secret-0123"


@pytest.fixture
def browser_clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def clocked_server(
    aiohttp_server: AiohttpServer, tmp_path: Path, browser_clock: ManualClock
) -> TestServer:
    settings = Settings.from_env(
        {"HELPDESK_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'hd.db'}",
         "HELPDESK_IDENTITY_SECRET": IDENTITY_SECRET}
    )  # fmt: skip
    app = create_app(settings, clock=browser_clock)

    async def account_page(request: web.Request) -> web.Response:
        return web.Response(text=signed_in_page("user-42"), content_type="text/html")

    # Served by the app itself: Chromium keeps a page fulfilled by Playwright (no
    # address) from opening sockets to the loopback.
    app.router.add_get("/account", account_page)
    return await aiohttp_server(app)


@pytest.fixture
async def clocked_page(
    browser_chromium: Browser, clocked_server: TestServer
) -> AsyncIterator[Page]:
    context = await browser_chromium.new_context(locale="ja-JP")
    context.set_default_timeout(TIMEOUT_MS)
    yield await context.new_page()
    await context.close()  # before the server stops: an open socket holds up its shutdown


async def test_an_expired_session_gives_a_signed_in_user_a_new_one_with_their_history(
    clocked_page: Page, clocked_server: TestServer, browser_clock: ManualClock
) -> None:
    page, base_url = clocked_page, str(clocked_server.make_url("/"))
    await open_chat(page, base_url + "account")
    await send(page, "パスワードを忘れました")
    await expect(page.locator(".msg.bot")).not_to_have_count(0)
    await page.wait_for_function("window.HelpdeskWidget.connected")
    first = await page.evaluate("window.HelpdeskWidget.sessionId")
    shown = await message_ids(page)

    # A month later the socket drops and reconnects: the server closes it as expired
    # (4401), and the widget starts a new session of the same customer, history and all.
    browser_clock.advance(days=31)
    await clocked_server.app[SERVICES].hub.close_all()
    await page.wait_for_function(
        "id => window.HelpdeskWidget.connected && window.HelpdeskWidget.sessionId !== id",
        arg=first,
    )
    await expect(page.locator(".msg[data-id]")).to_have_count(len(shown))
    assert await message_ids(page) == shown
    await expect(page.locator(".status")).to_be_hidden()

    # Expired over HTTP this time (the socket stays up): the send is retried in a new
    # session, again the same customer's.
    second = await page.evaluate("window.HelpdeskWidget.sessionId")
    browser_clock.advance(days=31)
    await send(page, "料金プラン")
    # Stored messages only ([data-id]): the pending bubble shows the same text at once,
    # before the refused send has been retried in the new session.
    await expect(page.locator(".msg.customer[data-id] .text")).to_have_text(
        ["パスワードを忘れました", "料金プラン"]
    )
    await expect(page.locator(".status")).to_be_hidden()
    third = await page.evaluate("window.HelpdeskWidget.sessionId")
    assert len({first, second, third}) == 3
    async with clocked_server.app[SERVICES].sessions() as session:
        query = select(Identity).where(col(Identity.external_id).in_([first, third]))
        identities = (await session.exec(query)).all()
    assert len({i.customer_id for i in identities}) == 1


async def test_an_expired_anonymous_session_ends_and_the_next_message_starts_a_new_one(
    clocked_page: Page, clocked_server: TestServer, browser_clock: ManualClock
) -> None:
    page, base_url = clocked_page, str(clocked_server.make_url("/"))
    await open_chat(page, base_url)
    await send(page, "パスワードを忘れました")
    await expect(page.locator(".msg.bot")).not_to_have_count(0)
    await page.wait_for_function("window.HelpdeskWidget.connected")
    first = await page.evaluate("window.HelpdeskWidget.sessionId")

    browser_clock.advance(days=31)
    await clocked_server.app[SERVICES].hub.close_all()
    # Refused as expired on reconnecting, the widget stops retrying and forgets the
    # session: its history is a stranger's to a new session.
    await page.wait_for_function("window.HelpdeskWidget.sessionId === null")
    await expect(page.locator(".msg[data-id]")).to_have_count(0)
    await send(page, "料金プラン")
    await expect(page.locator(".msg.customer .text")).to_have_text(["料金プラン"])
    await page.wait_for_function(
        "id => window.HelpdeskWidget.connected && window.HelpdeskWidget.sessionId !== id",
        arg=first,
    )
    await expect(page.locator(".status")).to_be_hidden()
