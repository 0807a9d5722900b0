"""Random search over the matcher's ranking weights on the tuning half of query sets.

    .venv/bin/python bench/faq_tune.py --set FAQ_DIR QUERIES_TSV [--set ...] --trials 100

Only even data rows are used (odd rows are held out for reporting in faq_eval.py). The
objective is the mean top-1 accuracy (plus a little MRR) over the sets; the best
parameters are printed for copying into ``faq.matcher.ScoringParams``.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
from pathlib import Path
from typing import Any

from faq.loader import check_faq_dir, check_faq_files
from faq.matcher import DEFAULT_PARAMS, Matcher, ScoringParams
from faq.model import FaqEntry

SPACE: dict[str, tuple[float, float]] = {
    "word_channel": (0.1, 1.0),
    "synonym_channel": (0.0, 0.8),
    "reading_channel": (0.0, 0.6),
    "question_field": (0.5, 3.0),
    "alternate_field": (0.5, 3.0),
    "answer_field": (0.0, 3.0),
    "b": (0.0, 1.0),
    "utterance_weight": (0.1, 1.0),
    "bm25_weight": (0.0, 1.0),
    "k1": (0.5, 2.5),
    "fuzz_weight": (0.0, 0.5),
    "bm25_synonym": (0.0, 1.0),
}


def _entries(path: Path) -> tuple[FaqEntry, ...]:
    entries, problems = check_faq_files([path]) if path.is_file() else check_faq_dir(path)
    if problems:
        raise SystemExit("\n".join(map(str, problems)))
    return entries



def _queries(path: Path) -> list[tuple[str, str]]:
    rows = [line.rstrip("\n").split("\t") for line in path.open(encoding="utf-8")][1:]
    return [(r[0], r[1]) for r in rows[0::2] if len(r) >= 2 and r[1] != "NONE"]


def score(
    params: ScoringParams, sets: list[tuple[tuple[FaqEntry, ...], list[tuple[str, str]]]]
) -> float:
    """Mean over sets of top-1 + 0.2 * MRR(top 5)."""
    total = 0.0
    for entries, queries in sets:
        matcher = Matcher.build(entries, params)
        top1 = rr = 0.0
        for text, expected in queries:
            ids = [m.entry.id for m in matcher.search(text, top_k=5)]
            top1 += ids[:1] == [expected]
            rr += 1.0 / (ids.index(expected) + 1) if expected in ids else 0.0
        total += (top1 + 0.2 * rr) / len(queries)
    return total / len(sets)


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", nargs=2, action="append", metavar=("FAQ", "TSV"), required=True)
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    sets = [(_entries(Path(f)), _queries(Path(q))) for f, q in args.set]
    rng = random.Random(args.seed)
    best = DEFAULT_PARAMS
    best_score = score(best, sets)
    print(f"default {best_score:.4f}")
    for trial in range(args.trials):
        # half the trials explore, half perturb the best so far
        if trial % 2 == 0:
            changes = {k: rng.uniform(lo, hi) for k, (lo, hi) in SPACE.items()}
        else:
            changes = {
                k: min(hi, max(lo, getattr(best, k) + rng.gauss(0, (hi - lo) / 8)))
                for k, (lo, hi) in SPACE.items()
            }
        rounded: dict[str, Any] = {k: round(v, 3) for k, v in changes.items()}
        candidate = dataclasses.replace(best, **rounded)
        s = score(candidate, sets)
        if s > best_score:
            best, best_score = candidate, s
            print(f"trial {trial}: {s:.4f} {changes}", flush=True)
    print("best", best_score, {k: getattr(best, k) for k in SPACE})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
