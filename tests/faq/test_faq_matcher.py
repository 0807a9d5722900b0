"""The matcher on a small bilingual FAQ written for these tests."""

from __future__ import annotations

import pytest

from faq.matcher import Matcher
from tests.faq.support import entry

ENTRIES = (
    entry("password-reset", "パスワードを忘れた場合はどうすればいいですか？",
          ("パスワードの再設定方法",), "ログイン画面から再設定できます。"),
    entry("shipping-fee", "送料はいくらですか？", ("配送料金を知りたい",),
          "全国一律500円です。5,000円以上のご注文で無料になります。"),
    entry("delivery-status", "配送状況を確認したい", ("荷物の追跡方法",),
          "マイページの注文履歴から追跡番号を確認できます。"),
    entry("returns", "商品を返品したいです", ("返品の方法",),
          "商品到着後7日以内にマイページから返品を申請してください。"),
    entry("point-card", "ポイントカードはありますか？", ("会員カードを作りたい",),
          "アプリの会員証がポイントカードになります。"),
    entry("business-hours", "営業時間を教えてください", ("何時まで開いていますか",),
          "平日の10時から18時まで営業しています。"),
    entry("password-reset-en", "I forgot my password", ("How do I reset my password",),
          "Use the 'Forgot password' link on the sign-in page.", "en"),
    entry("refund-en", "When will I get my refund?", ("Refund status",),
          "Refunds reach your card within 5 to 10 business days.", "en"),
    entry("delete-account-en", "How do I delete my account?", ("Close my account",),
          "Go to Settings and choose Delete account.", "en"),
)


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher.build(ENTRIES)


def top(matcher: Matcher, text: str, locale: str | None = None) -> str:
    return matcher.search(text, top_k=3, locale=locale)[0].entry.id


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("パスワード忘れた", "password-reset"),
        ("ぱすわーど わすれた", "password-reset"),  # all hiragana
        ("ﾊﾟｽﾜｰﾄﾞ 再設定", "password-reset"),  # half-width katakana
        ("配送上京", "delivery-status"),  # wrong IME conversion of 配送状況
        ("へんぴんしたい", "returns"),  # kana for kanji
        ("送料 いくら", "shipping-fee"),
        ("ポイントカード作れますか", "point-card"),
        ("営業時間", "business-hours"),
        ("I forgot my pasword", "password-reset-en"),  # typo
        ("where is my refund", "refund-en"),
        ("delete account", "delete-account-en"),
    ],
)
def test_finds_the_right_entry(matcher: Matcher, text: str, expected: str) -> None:
    assert top(matcher, text) == expected


def test_locale_restricts_results_when_the_faq_has_that_locale(matcher: Matcher) -> None:
    results = matcher.search("password", top_k=10, locale="ja")
    assert results and all(m.entry.locale == "ja" for m in results)
    assert top(matcher, "password", locale="en") == "password-reset-en"
    # a locale the FAQ does not have falls back to all entries
    assert top(matcher, "I forgot my password", locale="fr") == "password-reset-en"


def test_confidence_is_in_unit_interval_and_lower_for_unrelated_text(matcher: Matcher) -> None:
    related = matcher.search("パスワードを忘れました")
    unrelated = matcher.search("今日はいい天気ですね")
    for m in related + unrelated:
        assert 0.0 <= m.score <= 1.0
    assert related[0].score > 0.8
    assert unrelated[0].score < related[0].score - 0.3
    assert [m.score for m in related] == sorted((m.score for m in related), reverse=True)


def test_top_k_and_empty_inputs(matcher: Matcher) -> None:
    assert len(matcher.search("送料", top_k=2)) == 2
    assert matcher.search("送料", top_k=0) == []
    assert 0.0 <= matcher.search("")[0].score <= 1.0
    assert Matcher.build([]).search("送料") == []


def test_entries_are_kept_in_order(matcher: Matcher) -> None:
    assert matcher.entries == ENTRIES
