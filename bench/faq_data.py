"""Query sets and scaled-up FAQs for the FAQ benchmarks.

``scaled_entries`` makes a big FAQ from a real one: each copy of an entry is prefixed with
a different shop name, so every question, alternate and answer is a distinct string (no
tokenizer cache can shortcut the build) while lengths and vocabulary stay those of a real
FAQ. Deterministic.
"""

from __future__ import annotations

import csv
import dataclasses
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
