"""Hot reload: edits are picked up, broken edits are logged and the old FAQ keeps serving."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from faq.library import FaqLibrary
from faq.model import FaqError
from tests.faq.support import write_visibly

FAQ = """\
locale: ja
entries:
  - id: shipping-fee
    category: 配送
    question: 送料はいくらですか？
    answer: 全国一律500円です。
  - id: business-hours
    category: サポート
    question: 営業時間を教えてください
    answer: 平日10時から18時までです。
"""

LOGGER = "test.faq.library"


@pytest.fixture
async def library(tmp_path: Path) -> FaqLibrary:
    write_visibly(tmp_path / "faq.yaml", FAQ)
    lib = FaqLibrary(tmp_path, logging.getLogger(LOGGER))
    await lib.load()
    return lib


async def test_matcher_before_load_raises(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError):
        _ = FaqLibrary(tmp_path, logging.getLogger(LOGGER)).matcher


async def test_load_of_broken_faq_raises(tmp_path: Path) -> None:
    write_visibly(tmp_path / "faq.yaml", "locale: ja\nentries:\n  - id: x\n    question: q\n")
    with pytest.raises(FaqError):
        await FaqLibrary(tmp_path, logging.getLogger(LOGGER)).load()


async def test_unchanged_directory_is_not_reloaded(library: FaqLibrary) -> None:
    before = library.matcher
    assert await library.reload_if_changed() is False
    assert library.matcher is before


async def test_edit_is_picked_up(library: FaqLibrary, tmp_path: Path) -> None:
    assert library.matcher.search("返品したい")[0].entry.id != "returns"
    write_visibly(
        tmp_path / "faq.yaml",
        FAQ + "  - id: returns\n    category: 返品\n    question: 商品を返品したい\n"
        "    answer: 7日以内にご連絡ください。\n",
    )
    assert await library.reload_if_changed() is True
    assert library.matcher.search("返品したい")[0].entry.id == "returns"


async def test_broken_edit_keeps_old_matcher_and_logs_file_line(
    library: FaqLibrary, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    before = library.matcher
    broken = FAQ.replace("    answer: 全国一律500円です。\n", "")  # shipping-fee loses its answer
    write_visibly(tmp_path / "faq.yaml", broken)
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        assert await library.reload_if_changed() is False
    assert library.matcher is before
    assert library.matcher.search("送料")[0].entry.id == "shipping-fee"
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert f"{tmp_path / 'faq.yaml'}:3: entry is missing 'answer'" in messages
    # the same broken state is not reported again on the next poll
    caplog.clear()
    assert await library.reload_if_changed() is False
    assert not caplog.records


async def test_watch_polls_until_cancelled(library: FaqLibrary, tmp_path: Path) -> None:
    task = asyncio.create_task(library.watch(0.01))
    write_visibly(
        tmp_path / "more.yaml",
        "locale: en\nentries:\n  - id: refund\n    category: c\n    question: refund status\n"
        "    answer: five days\n",
    )
    for _ in range(500):
        if any(e.id == "refund" for e in library.matcher.entries):
            break
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert any(e.id == "refund" for e in library.matcher.entries)
