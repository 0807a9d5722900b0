"""Measure the FAQ matcher on a query set.

    .venv/bin/python bench/faq_eval.py --faq /work/shared/eval/sakura-mart \
        --queries /work/shared/eval/sakura-mart/queries-dev.tsv

The TSV has a header and rows ``query<TAB>expected_id`` (``NONE`` = nothing fits).
Figures are printed for even data rows (the half used for tuning), odd rows (held out)
and all rows: top-1 / top-3 / MRR over answerable rows, what the shipped decision rule
does with answerable and NONE rows, and per-query search latency.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from faq.decision import Decision, Thresholds, decide
from faq.loader import check_faq_dir, check_faq_files
from faq.matcher import Matcher

NONE = "NONE"


@dataclass(frozen=True)
class Result:
    """What the matcher did with one query."""

    expected: str
    ranked: tuple[str, ...]
    decision: Decision
    offered: tuple[str, ...]
    seconds: float


def load_queries(path: Path) -> list[tuple[str, str]]:
    """(query, expected_id) rows of a TSV with a header."""
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [(r[0], r[1]) for r in rows[1:] if len(r) >= 2]


def load_matcher(path: Path) -> Matcher:
    """Build a matcher from a FAQ directory or a single FAQ file."""
    entries, problems = check_faq_files([path]) if path.is_file() else check_faq_dir(path)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        raise SystemExit(1)
    return Matcher.build(entries)


def run(matcher: Matcher, queries: list[tuple[str, str]], thresholds: Thresholds) -> list[Result]:
    """Search every query once, timing each search."""
    results = []
    for query, expected in queries:
        start = time.perf_counter()
        matches = matcher.search(query, top_k=10)
        seconds = time.perf_counter() - start
        outcome = decide(matches, thresholds)
        results.append(
            Result(
                expected=expected,
                ranked=tuple(m.entry.id for m in matches),
                decision=outcome.decision,
                offered=tuple(m.entry.id for m in outcome.matches),
                seconds=seconds,
            )
        )
    return results


def report(name: str, results: list[Result]) -> None:
    """Print accuracy and decision counts for one subset of the results."""
    answerable = [r for r in results if r.expected != NONE]
    none_rows = [r for r in results if r.expected == NONE]
    n = len(answerable)
    top1 = sum(1 for r in answerable if r.ranked[:1] == (r.expected,))
    top3 = sum(1 for r in answerable if r.expected in r.ranked[:3])
    mrr = sum(
        1.0 / (r.ranked.index(r.expected) + 1) for r in answerable if r.expected in r.ranked
    )
    a = Counter(_kind(r) for r in answerable)
    z = Counter(_kind(r) for r in none_rows)
    wrong = a["answered-wrong"] + z["answered-wrong"]
    print(f"== {name}: {len(results)} rows ({n} answerable, {len(none_rows)} NONE)")
    if n:
        print(
            f"   top-1 {top1 / n:6.1%}  top-3 {top3 / n:6.1%}  MRR {mrr / n:.3f}"
        )
        print(
            "   answerable: answered-right {answered-right}, answered-wrong {answered-wrong}, "
            "suggested {suggested} (right one offered {offered}), handed-off {handed-off}".format(
                **{k: a[k] for k in ("answered-right", "answered-wrong", "suggested",
                                     "handed-off")},
                offered=sum(1 for r in answerable
                            if r.decision == Decision.SUGGEST and r.expected in r.offered),
            )
        )
    if none_rows:
        held = z["suggested"] + z["handed-off"]
        print(
            f"   NONE: answered {z['answered-wrong']}, suggested {z['suggested']}, "
            f"handed-off {z['handed-off']}  (not answered {held / len(none_rows):.1%})"
        )
    print(f"   wrong answers {wrong} = {wrong / len(results):.1%} of rows")


def _kind(r: Result) -> str:
    if r.decision == Decision.ANSWER:
        return "answered-right" if r.offered == (r.expected,) else "answered-wrong"
    return "suggested" if r.decision == Decision.SUGGEST else "handed-off"


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faq", type=Path, required=True, help="FAQ directory or YAML file")
    parser.add_argument("--queries", type=Path, required=True, help="TSV query<TAB>expected_id")
    defaults = Thresholds()
    parser.add_argument("--answer", type=float, default=defaults.answer)
    parser.add_argument("--suggest", type=float, default=defaults.suggest)
    parser.add_argument("--margin", type=float, default=defaults.margin)
    args = parser.parse_args(argv)
    thresholds = Thresholds(answer=args.answer, suggest=args.suggest, margin=args.margin)

    start = time.perf_counter()
    matcher = load_matcher(args.faq)
    build = time.perf_counter() - start
    queries = load_queries(args.queries)
    run(matcher, queries[:20], thresholds)  # warm up (lazy tokenizer load, caches)
    results = run(matcher, queries, thresholds)
    print(f"{len(matcher.entries)} entries, build {build:.2f} s, {thresholds}")
    report("tune (even rows)", results[0::2])
    report("held (odd rows)", results[1::2])
    report("all", results)
    ms = sorted(r.seconds * 1000 for r in results)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    print(f"latency per query: p50 {statistics.median(ms):.2f} ms  p99 {p99:.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
