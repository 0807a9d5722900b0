"""FAQs and messages whose search results pin the matcher's behaviour down exactly.

``matcher_golden.json`` holds what the matcher answered for these cases when its index was
built one text at a time in one process (before builds analysed texts in batches and in
parallel). Building differently must not change one ranking or one bit of a score; the
test in ``test_faq_build_equivalence.py`` compares. Recorded with::

    .venv/bin/python -m tests.faq.matcher_cases --record

The sakura-mart case reads the evaluation data beside the repository (``shared/eval``);
it is skipped where that data is absent.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

from faq.loader import load_faq
from faq.matcher import Matcher
from faq.model import FaqEntry
from faq.synonyms import SynonymTable

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
GOLDEN = HERE / "matcher_golden.json"
DEMO_FAQ = REPO / "faq" / "demo"
SAKURA = REPO.parent / "shared" / "eval" / "sakura-mart"
# every this-many-th message of sakura-mart's dev set: a sample that spans all topics
SAKURA_STEP = 5

# the FAQ of test_faq_matcher.py, with messages from its tests and a few harder ones
_BILINGUAL = (
    ("password-reset", "パスワードを忘れた場合はどうすればいいですか？",
     ("パスワードの再設定方法",), "ログイン画面から再設定できます。", "ja"),
    ("shipping-fee", "送料はいくらですか？", ("配送料金を知りたい",),
     "全国一律500円です。5,000円以上のご注文で無料になります。", "ja"),
    ("delivery-status", "配送状況を確認したい", ("荷物の追跡方法",),
     "マイページの注文履歴から追跡番号を確認できます。", "ja"),
    ("returns", "商品を返品したいです", ("返品の方法",),
     "商品到着後7日以内にマイページから返品を申請してください。", "ja"),
    ("point-card", "ポイントカードはありますか？", ("会員カードを作りたい",),
     "アプリの会員証がポイントカードになります。", "ja"),
    ("business-hours", "営業時間を教えてください", ("何時まで開いていますか",),
     "平日の10時から18時まで営業しています。", "ja"),
    ("password-reset-en", "I forgot my password", ("How do I reset my password",),
     "Use the 'Forgot password' link on the sign-in page.", "en"),
    ("refund-en", "When will I get my refund?", ("Refund status",),
     "Refunds reach your card within 5 to 10 business days.", "en"),
    ("delete-account-en", "How do I delete my account?", ("Close my account",),
     "Go to Settings and choose Delete account.", "en"),
)  # fmt: skip
BILINGUAL_MESSAGES = (
    "パスワード忘れた", "ぱすわーど わすれた", "ﾊﾟｽﾜｰﾄﾞ 再設定", "配送上京", "へんぴんしたい",
    "送料 いくら", "ポイントカード作れますか", "営業時間", "I forgot my pasword",
    "where is my refund", "delete account", "password", "パスワードを忘れました",
    "今日はいい天気ですね", "", "クーポンは使えますか", "返品と交換の違いは？", "coupon code",
)  # fmt: skip
DEMO_MESSAGES = (
    "メモが同期されない", "有料プランの値段", "削除済みのノートを戻したい", "log in problem",
    "how much is a subscription", "recycle bin", "ﾊﾟｽﾜｰﾄﾞ 再設定", "解約したい",
    "担当者と話したい", "the app crashes on start",
)  # fmt: skip

# (entries, synonyms, messages)
Case = tuple[tuple[FaqEntry, ...], SynonymTable, list[str]]


def bilingual_case() -> Case:
    entries = tuple(
        FaqEntry(i, "c", q, alts, a, (), locale, "t.yaml", 1)
        for i, q, alts, a, locale in _BILINGUAL
    )
    return entries, SynonymTable(), list(BILINGUAL_MESSAGES)


def demo_case() -> Case:
    entries, synonyms = load_faq(DEMO_FAQ)
    examples = [x for e in entries for x in e.examples]
    return entries, synonyms, [*examples, *DEMO_MESSAGES]


def sakura_case() -> Case:
    entries, synonyms = load_faq(SAKURA / "faq.yaml")
    lines = (SAKURA / "queries-dev.tsv").read_text(encoding="utf-8").splitlines()[1:]
    messages = [line.split("\t")[0] for line in lines]
    return entries, synonyms, messages[::SAKURA_STEP]


CASES: dict[str, Callable[[], Case]] = {
    "bilingual": bilingual_case,
    "demo": demo_case,
    "sakura-mart": sakura_case,
}


def answers(matcher: Matcher, messages: list[str]) -> list[dict[str, object]]:
    """Everything a search exposes, per message: ranked ids with confidences, the fused
    scores before calibration, and the confidence's inputs."""
    return [
        {
            "search": [[m.entry.id, m.score] for m in matcher.search(text, top_k=10)],
            "evidence": [[e.id, s] for e, s in matcher.evidence(text, top_k=10)],
            "signals": list(matcher.signals(text)),
        }
        for text in messages
    ]


def record() -> None:
    """Write the golden answers of the matcher as built by this checkout."""
    golden: dict[str, list[dict[str, object]]] = {}
    for name, case in CASES.items():
        entries, synonyms, messages = case()
        golden[name] = answers(Matcher.build(entries, synonyms=synonyms), messages)
    # one message per line; floats are written in their shortest round-tripping form, so
    # reading them back gives the very same doubles
    cases = [
        f"{json.dumps(name)}: [\n" + ",\n".join(json.dumps(a, ensure_ascii=False) for a in found)
        + "\n]"
        for name, found in golden.items()
    ]
    GOLDEN.write_text("{\n" + ",\n".join(cases) + "\n}\n", encoding="utf-8")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--record", action="store_true", required=True)
    parser.parse_args()
    record()
