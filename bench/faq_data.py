"""Query sets and scaled-up FAQs for the FAQ benchmarks.

``scaled_entries`` makes a big FAQ from a real one: each copy of an entry is prefixed with
a different shop name, so every question, alternate and answer is a distinct string (no
tokenizer cache can shortcut the build) while lengths and vocabulary stay those of a real
FAQ. Deterministic.
"""

from __future__ import annotations

import csv
import dataclasses
import random
from collections.abc import Sequence
from pathlib import Path

from faq.model import FaqEntry

_NAME_HEADS = (
    "さくら", "みどり", "ひかり", "そら", "ほし", "つき", "ゆき", "はな", "かぜ", "うみ",
    "やま", "もり", "いずみ", "あおば", "こはる", "なぎさ", "あかね", "しずく", "みのり", "つばさ",
)  # fmt: skip
_NAME_TAILS = (
    "ストア", "マート", "ショップ", "モール", "マーケット", "スーパー", "ドラッグ", "ブックス",
    "ファーム", "キッチン", "ベーカリー", "ガーデン",
)  # fmt: skip


def load_queries(path: Path) -> list[tuple[str, str]]:
    """(query, expected_id) rows of a TSV with a header."""
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [(r[0], r[1]) for r in rows[1:] if len(r) >= 2]


def shop_name(i: int) -> str:
    """The i-th of 240 distinct shop names (then numbered)."""
    n = len(_NAME_HEADS) * len(_NAME_TAILS)
    name = _NAME_HEADS[i % len(_NAME_HEADS)] + _NAME_TAILS[(i // len(_NAME_HEADS)) % 12]
    return name if i < n else f"{name}{i // n + 1}号店"


def scaled_entries(base: Sequence[FaqEntry], count: int) -> list[FaqEntry]:
    """``count`` distinct entries made from ``base`` by prefixing a shop name."""
    result = []
    for i in range(count):
        entry = base[i % len(base)]
        name = shop_name(i // len(base))
        result.append(
            dataclasses.replace(
                entry,
                id=f"{entry.id}-{i}",
                question=f"{name}の{entry.question}",
                alternates=tuple(f"{name}の{a}" for a in entry.alternates),
                answer=f"{name}では、{entry.answer}",
            )
        )
    return result


# Circumstances prefixed (Japanese) or appended (English) to synthetic questions and
# alternates, so that every synthetic text is a distinct string.
_SITUATIONS_JA = (
    "スマホから", "パソコンで", "昨日から", "急に", "初めて", "会社で", "旅行先で", "家族と",
    "子どもの端末で", "先月から", "タブレットで", "新しい端末で", "海外から", "アップデート後に",
    "機種変更したら", "朝から", "何度やっても", "退職した同僚の", "無料期間中に", "支払い後に",
)  # fmt: skip
_PLACES_JA = ("設定画面", "マイページ", "管理コンソール", "アプリのメニュー", "ヘルプセンター")
_SITUATIONS_EN = (
    "on my phone", "since yesterday", "at work", "for my team", "after the update",
    "on a new laptop", "while travelling", "for the first time", "on the tablet",
    "since last month", "from abroad", "after paying", "during the trial", "on my old account",
    "for a colleague", "on the shared computer", "every morning", "in the browser",
    "after switching phones", "for my family",
)  # fmt: skip


def distinct_synthetic_entries(count: int, seed: int = 7) -> list[FaqEntry]:
    """``count`` entries in the style of :mod:`bench.synthetic_faq` (half Japanese, half
    English, near neighbours) in which no question, alternate or answer repeats: each is
    a product, a topic and a circumstance, so repeats cannot shortcut a build."""
    from bench.synthetic_faq import PRODUCTS_EN, PRODUCTS_JA, TOPICS_EN, TOPICS_JA

    combos: list[FaqEntry] = []
    n = len(_SITUATIONS_JA)
    for s, situation in enumerate(_SITUATIONS_JA):
        other = _SITUATIONS_JA[(s + 7) % n]
        for p in PRODUCTS_JA:
            for category, question, alternate in TOPICS_JA:
                place = _PLACES_JA[s % len(_PLACES_JA)]
                combos.append(FaqEntry(
                    "", category, f"{situation}{p}{question}", (f"{other}{p}{alternate}",),
                    f"{p}の{category}は、{place}の「{category}」から手続きできます。"
                    f"反映まで{s + 1}分ほどかかります。",
                    (), "ja", "synthetic", 0,
                ))  # fmt: skip
    for s, situation in enumerate(_SITUATIONS_EN):
        other = _SITUATIONS_EN[(s + 7) % n]
        for p in PRODUCTS_EN:
            for question, alternate in TOPICS_EN:
                combos.append(FaqEntry(
                    "", "General", f"{question.format(p=p)} ({situation})",
                    (f"{alternate.format(p=p)} {other}",),
                    f"For {alternate.format(p=p)}, open Settings; step {s + 1} of the help "
                    "centre explains what to do.",
                    (), "en", "synthetic", 0,
                ))  # fmt: skip
    random.Random(seed).shuffle(combos)
    result = []
    for i in range(count):
        entry = combos[i % len(combos)]
        # past every combination, a number keeps the strings distinct
        suffix = "" if i < len(combos) else f" ({i // len(combos)})"
        result.append(dataclasses.replace(
            entry, id=f"entry-{i:05d}", question=entry.question + suffix,
            alternates=tuple(a + suffix for a in entry.alternates),
            answer=entry.answer + suffix,
        ))  # fmt: skip
    return result


def synthetic_faq_entries(count: int, seed: int = 7) -> list[FaqEntry]:
    """:func:`bench.synthetic_faq.synthetic_entries` as entries: questions are distinct,
    alternates and answers repeat every 620 entries (text a cache can reuse)."""
    from bench.synthetic_faq import synthetic_entries

    result = []
    for e in synthetic_entries(count, seed):
        alternates = e["alternates"]
        assert isinstance(alternates, list)
        result.append(FaqEntry(
            str(e["id"]), str(e["category"]), str(e["question"]), tuple(alternates),
            str(e["answer"]), (), str(e["locale"]), "synthetic", 0,
        ))  # fmt: skip
    return result
