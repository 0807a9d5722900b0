"""Japanese typed in romaji is read back as kana and meets a Japanese FAQ."""

from __future__ import annotations

import pytest

from faq.analyzer import TextAnalyzer
from faq.matcher import Matcher
from faq.romaji import RomajiReader
from tests.faq.support import entry


@pytest.mark.parametrize(
    ("word", "kana"),
    [
        ("henkou", "へんこう"),  # wapuro long vowel
        ("shitai", "したい"),  # Hepburn
        ("sitai", "したい"),  # Kunrei
        ("saihakkou", "さいはっこう"),  # doubled consonant
        ("matcha", "まっちゃ"),
        ("konnichiwa", "こんにちわ"),  # n before n-syllable
        ("hon'ya", "ほんや"),
        ("kyuuryou", "きゅうりょう"),
        ("tsunagaranai", "つながらない"),
        ("puran", "ぷらん"),  # final n
    ],
)
def test_romaji_words_are_read_as_hiragana(word: str, kana: str) -> None:
    assert RomajiReader().hiragana(word) == kana


@pytest.mark.parametrize("word", ["cancel", "my", "sim", "iphone", "password", "how"])
def test_english_words_are_not_romaji(word: str) -> None:
    assert RomajiReader().hiragana(word) is None


def test_a_sentence_is_romaji_only_when_most_words_are() -> None:
    reader = RomajiReader()
    assert reader.read(["sim", "kaado", "nakushita"]) == "かあど なくした"
    assert reader.read(["how", "can", "i", "cancel", "my", "line"]) is None


def test_romaji_adds_kana_readings_only_to_messages_without_japanese_script() -> None:
    analyzer = TextAnalyzer(loanwords=True)
    assert "へん" in analyzer.analyze("puran henkou shitai").readings
    assert not any("ぃ" in r or "ふ" in r for r in analyzer.analyze("家のwifi遅い").readings)
    # an English-only FAQ (no loanwords) reads Latin as English only
    assert not TextAnalyzer().analyze("puran henkou shitai").readings


def test_a_romaji_question_finds_its_japanese_entry() -> None:
    matcher = Matcher.build(
        [
            entry("plan-change", "料金プランを変更したい", (), "マイページから変更できます。"),
            entry("sim-reissue", "SIMカードを紛失した", (), "再発行は店頭で承ります。"),
            entry("roaming", "海外で電話がつながらない", (), "ローミング設定をご確認ください。"),
        ]
    )
    for text, expected in [
        ("puran henkou shitai", "plan-change"),
        ("sim kaado nakushita saihakkou dekimasu ka", "sim-reissue"),
        ("kaigai de tsunagaranai", "roaming"),
    ]:
        assert matcher.search(text)[0].entry.id == expected, text
