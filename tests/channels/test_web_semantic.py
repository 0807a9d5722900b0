"""The server's opt-in semantic models, end to end: with the Japanese word vectors, a web
chat message that names a country where the FAQ says 海外 is answered outright; without
them the bot is less sure and only offers the entry."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.app import SERVICES, create_app
from bot.config import Settings
from tests.conftest import Database
from tests.faq.support import SHIPPING_FAQ

ClientMaker = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]

ABROAD = "アメリカへの発送"


@pytest.mark.parametrize("word_vectors", ["ja-ginza", "off"])
async def test_word_vectors_setting_reaches_the_engine(
    aiohttp_client: ClientMaker, database: Database, tmp_path: Path, word_vectors: str
) -> None:
    faq = tmp_path / "semantic-faq"
    faq.mkdir()
    (faq / "faq.yaml").write_text(SHIPPING_FAQ, encoding="utf-8")
    settings = Settings.from_env({**database.env, "HELPDESK_FAQ_DIR": str(faq),
                                  "HELPDESK_FAQ_WORD_VECTORS": word_vectors})
    client = await aiohttp_client(create_app(settings))
    try:
        faq = client.app[SERVICES].faq
        # the server answers from the lexical FAQ at once and adds the models after
        await faq.semantic_ready()
        assert bool(faq.matcher.semantic) == (word_vectors == "ja-ginza")
        r = await client.post("/api/chat/sessions")
        auth = {"Authorization": f"Bearer {(await r.json())['token']}"}
        r = await client.post("/api/chat/messages", json={"text": ABROAD}, headers=auth)
        assert r.status == 200
        replies = (await r.json())["messages"]
    finally:
        await client.close()
    shown = json.dumps(replies, ensure_ascii=False)
    answered = any("海外発送は承っておりません" in m["text"] for m in replies)
    assert answered == (word_vectors == "ja-ginza"), shown
    assert "overseas-shipping" in shown  # offered as a choice, or rated after the answer
