"""Incremental rebuilds: a BuildCache carries analyses from one build to the next."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from faq.build_cache import BuildCache
from faq.index import StringPack
from faq.library import FaqLibrary
from faq.matcher import Matcher
from faq.synonyms import SynonymGroup, SynonymTable
from tests.faq.support import TWO_ENTRY_FAQ, entry, write_visibly

ENTRIES = [
    entry("fee", "送料はいくらですか", ("配送料金を知りたい",), "全国一律500円です。"),
    entry("hours", "営業時間を教えてください", ("何時まで開いていますか",), "10時から18時です。"),
    entry("returns", "商品を返品したい", (), "7日以内にご連絡ください。"),
]
TEXTS = sum(2 + len(e.alternates) for e in ENTRIES)  # question, alternates, answer


def results(matcher: Matcher, text: str) -> list[tuple[str, float]]:
    return [(m.entry.id, m.score) for m in matcher.search(text, top_k=3)]


def test_unchanged_entries_are_not_analysed_again() -> None:
    cache = BuildCache()
    Matcher.build(ENTRIES, cache=cache)
    assert (cache.hits, cache.misses) == (0, TEXTS)
    edited = [*ENTRIES[:2], dataclasses.replace(ENTRIES[2], question="ポイントカードを作りたい")]
    matcher = Matcher.build(edited, cache=cache)
    assert (cache.hits, cache.misses) == (TEXTS - 1, 1)  # only the edited question
    assert results(matcher, "ポイントカード")[0][0] == "returns"


def test_a_text_repeated_in_one_build_is_analysed_once() -> None:
    shared = "マイページからお問い合わせください。"
    repeated = [dataclasses.replace(e, answer=shared) for e in ENTRIES]
    cache = BuildCache()
    matcher = Matcher.build(repeated, cache=cache)
    assert (cache.hits, cache.misses) == (len(ENTRIES) - 1, TEXTS - len(ENTRIES) + 1)
    assert results(matcher, "何時まで") == results(Matcher.build(repeated), "何時まで")


def test_incremental_build_equals_a_fresh_one() -> None:
    cache = BuildCache()
    Matcher.build(ENTRIES, cache=cache)
    edited = [
        dataclasses.replace(ENTRIES[0], answer="5,000円以上で無料です。"),
        *ENTRIES[1:],
        entry("coupon", "クーポンの使い方", ("割引コード",), "注文画面で入力してください。"),
    ]
    incremental = Matcher.build(edited, cache=cache)
    fresh = Matcher.build(edited)
    for text in ("送料 無料", "クーポン使えない", "何時まで", "返品"):
        assert results(incremental, text) == results(fresh, text)
    assert incremental.entries == fresh.entries


def test_removed_entries_leave_the_cache() -> None:
    cache = BuildCache()
    Matcher.build(ENTRIES, cache=cache)
    Matcher.build(ENTRIES[:1], cache=cache)
    Matcher.build(ENTRIES, cache=cache)
    assert cache.misses == TEXTS - 3  # the two dropped entries were analysed again


def test_a_synonym_change_starts_the_cache_over() -> None:
    cache = BuildCache()
    Matcher.build(ENTRIES, cache=cache)
    table = SynonymTable([SynonymGroup(("返品", "返却"), 1)])
    matcher = Matcher.build(ENTRIES, synonyms=table, cache=cache)
    assert (cache.hits, cache.misses) == (0, TEXTS)
    assert results(matcher, "返却したい")[0][0] == "returns"


def test_string_pack_round_trip() -> None:
    strings = ["", "送料", "a\0b", "", "改行\nあり"]
    assert StringPack.unpack(StringPack.pack(strings)) == strings
    assert StringPack.unpack(StringPack.pack([])) == []


async def test_the_build_process_applies_edits_across_reloads(tmp_path: Path) -> None:
    write_visibly(tmp_path / "faq.yaml", TWO_ENTRY_FAQ)
    library = FaqLibrary(tmp_path, logging.getLogger("test.faq"), process_min_entries=0)
    try:
        await library.load()
        edited = TWO_ENTRY_FAQ.replace("question: 営業時間", "question: 返品したい")
        write_visibly(tmp_path / "faq.yaml", edited)
        assert await library.reload_if_changed() is True
        assert library.matcher.search("返品")[0].entry.id == "hours"
        assert library.matcher.search("送料")[0].entry.id == "fee"
    finally:
        await library.close()
