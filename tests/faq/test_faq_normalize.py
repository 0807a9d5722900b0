"""Text normalisation: width, case, kana and punctuation folding."""

from __future__ import annotations

from faq.normalize import kana_key, katakana_to_hiragana, normalize


def test_half_width_katakana_becomes_full_width() -> None:
    assert normalize("ﾊﾟｽﾜｰﾄﾞ") == "パスワード"


def test_full_width_digits_and_latin_fold_and_casefold() -> None:
    assert normalize("２０２４年ＡＢＣ") == "2024年abc"
    assert normalize("Straße PASSWORD") == "strasse password"


def test_punctuation_and_emoji_become_single_spaces() -> None:
    assert normalize("「返品」したい！！🌸　お願い。") == "返品 したい お願い"


def test_kana_key_joins_katakana_hiragana_and_half_width_variants() -> None:
    assert kana_key("ﾊﾟｽﾜｰﾄﾞ") == kana_key("パスワード") == kana_key("ぱすわーど") == "ぱすわーど"
    assert kana_key("ショートメール") == "しよーとめーる"  # small kana folded


def test_katakana_to_hiragana_leaves_other_scripts() -> None:
    assert katakana_to_hiragana("カード番号abc漢字") == "かーど番号abc漢字"


def test_long_vowel_mark_stays_and_wave_dash_separates() -> None:
    assert normalize("ラーメン") == "ラーメン"
    assert normalize("10時〜18時") == "10時 18時"
    assert kana_key("ｰ") == "ー"


def test_empty_whitespace_and_symbol_only_inputs() -> None:
    assert normalize("") == ""
    assert normalize(" \u3000\t\n") == ""
    assert normalize("🌸✨！？") == ""


def test_mixed_japanese_and_english_keeps_both() -> None:
    assert normalize("Free Shippingは何円から？") == "free shippingは何円から"


def test_very_long_input_is_normalised_whole() -> None:
    assert normalize("ａ" * 100_000) == "a" * 100_000
