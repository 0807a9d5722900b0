"""Tokenisation into features: scripts, widths, fillers, synonyms, odd inputs."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import pytest

from faq.analyzer import TextAnalyzer
from faq.library import FaqLibrary
from faq.matcher import Matcher
from faq.model import FaqEntry


@pytest.fixture(scope="module")
def analyzer() -> TextAnalyzer:
    return TextAnalyzer(loanwords=True)


def test_half_width_katakana_gives_the_same_words_as_full_width(analyzer: TextAnalyzer) -> None:
    assert analyzer.analyze("ﾊﾟｽﾜｰﾄﾞ").words == analyzer.analyze("パスワード").words
    assert "パスワード" in analyzer.analyze("ﾊﾟｽﾜｰﾄﾞ").words


def test_full_width_digits_become_number_words(analyzer: TextAnalyzer) -> None:
    assert "2" in analyzer.analyze("クーポン２枚").words
    assert "500" in analyzer.analyze("５００円").words


def test_long_vowel_marks_and_wave_dash(analyzer: TextAnalyzer) -> None:
    assert "ポイント" in analyzer.analyze("ポイントーー").words | analyzer.analyze("ポイント").words
    # 〜 is punctuation: it separates, it does not glue words together
    words = analyzer.analyze("ポイント〜クーポン").words
    assert {"ポイント", "クーポン"} <= set(words)


def test_emoji_and_symbols_carry_no_features(analyzer: TextAnalyzer) -> None:
    empty = analyzer.analyze("🌸✨！？")
    assert not empty.words and not empty.readings and not empty.synonyms
    assert analyzer.analyze("送料🌸いくら").words == analyzer.analyze("送料 いくら").words


def test_mixed_japanese_and_english(analyzer: TextAnalyzer) -> None:
    words = analyzer.analyze("free shippingは何円から？")
    assert {"free", "ship", "何円"} <= set(words.words)
    assert "フリー" in words.words and "フリー" in words.guessed  # loanword form


def test_empty_and_very_long_input(analyzer: TextAnalyzer) -> None:
    empty = analyzer.analyze("")
    assert not empty.words and empty.key == ""
    long = analyzer.analyze("送料はいくらですか。" * 2000)
    assert long.words["送料"] == 2000


def test_polite_request_fillers_are_not_topic_words(analyzer: TextAnalyzer) -> None:
    words = analyzer.analyze("営業時間を教えていただけますでしょうか。お願いします。").words
    assert set(words) == {"営業", "時間"}


def test_dictionary_synonyms_meet(analyzer: TextAnalyzer) -> None:
    receipt = set(analyzer.analyze("領収書").synonyms)
    assert receipt and receipt & set(analyzer.analyze("レシート").synonyms)
    assert not set(analyzer.analyze("送料").synonyms) & receipt


def test_hiragana_words_are_marked_as_guesses(analyzer: TextAnalyzer) -> None:
    analysis = analyzer.analyze("たいかいしたい")
    assert analysis.words and set(analysis.words) <= analysis.guessed


def test_limit_and_channels(analyzer: TextAnalyzer) -> None:
    text = "送料について。" + "返品の方法。" * 50
    short = analyzer.analyze(text, limit=8, chars=False, readings=False)
    assert "送料" in short.words and "返品" not in short.words
    assert not short.chars and not short.readings


def test_analyzer_and_matcher_survive_pickling() -> None:
    entries = [
        FaqEntry("fee", "c", "送料はいくら", (), "500円です。", (), "ja", "f", 1),
        FaqEntry("hours", "c", "営業時間", ("何時まで",), "18時までです。", (), "ja", "f", 2),
    ]
    matcher = Matcher.build(entries)
    copy = pickle.loads(pickle.dumps(matcher))
    assert copy.entries == matcher.entries
    assert copy.search("送料 いくら") == matcher.search("送料 いくら")


async def test_a_big_faq_is_built_in_another_process(tmp_path: Path) -> None:
    (tmp_path / "faq.yaml").write_text(
        "locale: ja\nentries:\n  - id: fee\n    category: c\n    question: 送料はいくら\n"
        "    answer: 500円です。\n",
        encoding="utf-8",
    )
    library = FaqLibrary(tmp_path, logging.getLogger("test.faq"), process_min_entries=0)
    await library.load()
    assert library.matcher.search("送料")[0].entry.id == "fee"
