"""An answer given outright rests on the answered entry itself: a message whose words the
entry lacks (though other entries have them) is offered choices instead."""

from __future__ import annotations

from faq.decision import Decision, Thresholds, decide
from faq.matcher import Match, Matcher
from tests.faq.support import entry

JAPANESE = [
    entry("account-deletion", "アカウントを削除したい", ("退会したい",),
          "マイページの設定から削除できます。"),
    entry("returns", "商品を返品したい", (), "到着後7日以内なら返品できます。"),
    entry("shipping-fee", "送料はいくら", (), "全国一律500円です。"),
    entry("review", "レビューの書き方", (), "商品ページから書けます。"),
]  # fmt: skip


def test_a_message_half_about_another_entry_gets_choices() -> None:
    matcher = Matcher.build(JAPANESE)
    # 送料 is the shipping-fee entry's word: the returns entry ranks first, confidently
    # and well ahead, but does not answer what the fee is
    matches = matcher.search("返品したい商品の送料", top_k=3)
    top = matches[0]
    assert top.entry.id == "returns"
    assert top.score >= 0.75 and top.score - matches[1].score >= 0.2
    assert top.outright is not None and top.outright < 0.75
    outcome = decide(matches, Thresholds())
    assert outcome.decision == Decision.SUGGEST
    assert [m.entry.id for m in outcome.matches][:2] == ["returns", "shipping-fee"]


def test_a_message_the_entry_covers_is_answered() -> None:
    matcher = Matcher.build(JAPANESE)
    for text in ("アカウントを削除したい", "アカウント削除", "返品したい"):
        matches = matcher.search(text, top_k=3)
        assert matches[0].outright is None, text
        assert decide(matches, Thresholds()).decision == Decision.ANSWER, text


def test_english_entries_keep_the_faq_wide_check() -> None:
    english = [
        entry("returns", "How do I return an item?", (), "Within 7 days.", "en"),
        entry("shipping-fee", "How much is shipping?", (), "A flat $5.", "en"),
    ]
    matches = Matcher.build(english).search("how do i return an item and get the shipping")
    assert matches[0].outright is None


def test_decide_answers_on_the_outright_confidence() -> None:
    first, second = JAPANESE[0], JAPANESE[1]
    for outright, decision in ((None, Decision.ANSWER), (0.8, Decision.ANSWER),
                               (0.5, Decision.SUGGEST)):  # fmt: skip
        matches = [Match(first, 0.9, outright), Match(second, 0.3)]
        assert decide(matches, Thresholds()).decision == decision, outright
