"""How long the survey comment analysis takes (surveys.comment_terms).

    .venv/bin/python -m bench.comments [--comments 10000]

Builds distinct short comments (about 40 characters, two thirds Japanese, one third
English) from fragments, then times a fresh analyzer (the SudachiPy dictionary load
included) on the period's comments alone, and on the period plus a previous period of
the same size, as `GET /api/reports/summary` does. Prints seconds and comments/s.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta

from surveys.comment_terms import Comment, CommentAnalyzer, analyse_comments
from surveys.rules import Segment

JA_SUBJECTS = ("スタッフの対応", "配送", "配送料金", "返品の手続き", "アプリ", "ポイント",
               "問い合わせの返事", "説明", "商品の品質", "会員登録")  # fmt: skip
JA_VERDICTS = (
    "が丁寧でした", "が早くて助かりました", "が高いと思います", "が分かりにくい",
    "が遅かった", "に満足しています", "がもう少し簡単だと嬉しい", "が良くなかった",
)  # fmt: skip
EN_SUBJECTS = ("the staff", "delivery", "the app", "customer service", "the refund",
               "shipping fees", "the answer", "checkout")  # fmt: skip
EN_VERDICTS = ("was friendly", "was too slow", "is confusing", "was quick and helpful",
               "took days", "is expensive", "worked well")  # fmt: skip
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def comments(count: int, seed: int) -> list[Comment]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        if rng.random() < 2 / 3:
            text = (f"{rng.choice(JA_SUBJECTS)}{rng.choice(JA_VERDICTS)}。"
                    f"{rng.choice(JA_SUBJECTS)}{rng.choice(JA_VERDICTS)}（{i}）")  # fmt: skip
        else:
            text = (f"{rng.choice(EN_SUBJECTS).capitalize()} {rng.choice(EN_VERDICTS)}, "
                    f"{rng.choice(EN_SUBJECTS)} {rng.choice(EN_VERDICTS)} #{i}")  # fmt: skip
        segment = rng.choice(list(Segment))
        out.append(Comment(segment, text, NOW - timedelta(minutes=i)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--comments", type=int, default=10_000)
    args = parser.parse_args()
    current, previous = comments(args.comments, 1), comments(args.comments, 2)
    chars = sum(len(c.text) for c in current) / len(current)
    print(f"{args.comments} comments per period, {chars:.0f} characters on average")
    for label, before in (("period alone", []), ("period + previous period", previous)):
        analyzer = CommentAnalyzer()
        started = time.perf_counter()
        result = analyse_comments(current, before, analyzer)
        elapsed = time.perf_counter() - started
        analysed = len(current) + len(before)
        top = result[Segment.DETRACTORS][0]
        print(f"{label:26s} {elapsed:6.2f} s  {analysed / elapsed:8.0f} comments/s  "
              f"(fresh analyzer; detractors' top term {top.term!r}: {top.count})")


if __name__ == "__main__":
    main()
