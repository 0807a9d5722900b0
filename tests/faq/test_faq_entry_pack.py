"""Entries sent from the build process: packed, and unpacked sharing unchanged entries."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from faq.entry_pack import pack_entries, unpack_entries
from faq.library import FaqLibrary
from faq.matcher import Matcher
from faq.model import FaqEntry
from tests.faq.support import TWO_ENTRY_FAQ, write_visibly

ENTRIES = (
    FaqEntry("fee", "配送", "送料は？", ("配送料", "送料 いくら"), "500円です。", ("送料",),
             "ja", "a.yaml", 3),
    FaqEntry("hours", "窓口", "営業時間", (), "10時から18時", (), "ja", "a.yaml", 9),
    FaqEntry("refund", "Money", "Refund?", ("money back",), "5 days.\n\0odd", (), "en",
             "b.yaml", 1),
)  # fmt: skip


def test_round_trip() -> None:
    assert unpack_entries(pack_entries(ENTRIES)) == ENTRIES
    assert unpack_entries(pack_entries([])) == ()


def test_unchanged_entries_are_the_previous_objects() -> None:
    previous = tuple(dataclasses.replace(e) for e in ENTRIES)  # equal, not the same
    edited = (
        ENTRIES[0],
        dataclasses.replace(ENTRIES[1], line=10),  # moved down a line
        dataclasses.replace(ENTRIES[2], alternates=("money back", "refund")),
    )
    unpacked = unpack_entries(pack_entries(edited), previous)
    assert unpacked == edited
    assert unpacked[0] is previous[0]
    assert unpacked[1] is not previous[1] and unpacked[2] is not previous[2]
    first = ENTRIES[0]
    for changed in (
        dataclasses.replace(first, category="x"),
        dataclasses.replace(first, question="x"),
        dataclasses.replace(first, answer="x"),
        dataclasses.replace(first, examples=("x",)),
        dataclasses.replace(first, locale="en"),
        dataclasses.replace(first, source="x"),
    ):
        unpacked = unpack_entries(pack_entries([changed]), previous)
        assert unpacked == (changed,) and unpacked[0] is not previous[0]


def test_a_restored_matcher_searches_like_the_original() -> None:
    matcher = Matcher.build(ENTRIES)
    restored = Matcher.restore(matcher.__getstate__(), matcher)
    assert restored.entries == matcher.entries
    assert all(a is b for a, b in zip(restored.entries, matcher.entries, strict=True))
    for text in ("送料 いくら", "money back", "営業時間"):
        assert restored.search(text) == matcher.search(text)


async def test_a_hot_reload_from_the_build_process_keeps_unchanged_entries(
    tmp_path: Path,
) -> None:
    path = tmp_path / "faq.yaml"
    path.write_text(TWO_ENTRY_FAQ, encoding="utf-8")
    library = FaqLibrary(tmp_path, logging.getLogger("test.faq"), process_min_entries=0)
    try:
        await library.load()
        before = library.matcher.entries
        write_visibly(path, TWO_ENTRY_FAQ.replace("18時まで", "19時まで"))
        assert await library.reload_if_changed()
        after = library.matcher.entries
    finally:
        await library.close()
    assert after[0] is before[0]
    assert after[1].answer == "19時までです。" and before[1].answer == "18時までです。"
