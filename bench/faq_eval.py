"""Measure the FAQ matcher on a query set, on the tuning and held-out halves.

    .venv/bin/python -m bench.faq_eval --faq ../shared/eval/sakura-mart \
        --queries ../shared/eval/sakura-mart/queries-dev.tsv

The TSV has a header and rows ``query<TAB>expected_id`` (``NONE`` = nothing fits).
Figures (from :mod:`faq.eval`, the module behind ``helpdesk faq eval``) are printed for
even data rows (the half used for tuning), odd rows (held out) and all rows.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from faq.decision import Thresholds
from faq.eval import add_arguments as add_eval_arguments
from faq.eval import (
    format_report,
    load_queries,
    run_queries,
    summarize,
    timed_build,
)
from faq.matcher import Matcher


def report_halves(faq: Path, queries: Path, thresholds: Thresholds, title: str = "") -> None:
    """Print the figures for even rows (tune), odd rows (held out) and all rows."""
    matcher, build = timed_build(faq)
    print_halves(matcher, load_queries(queries), thresholds, build, title or str(faq))


def print_halves(matcher: Matcher, rows: list[tuple[str, str]], thresholds: Thresholds,
                 build: float, title: str) -> None:
    """Print the figures of ``matcher`` for even rows (tune), odd rows (held out) and all
    rows of a query set."""
    run_queries(matcher, rows[:5], thresholds)  # warm up: lazy tokenizer load
    results = run_queries(matcher, rows, thresholds)
    print(f"{title}: {len(matcher.entries)} entries, build {build:.2f} s, {thresholds}")
    for name, part in (
        ("tune (even rows)", results[0::2]),
        ("held (odd rows)", results[1::2]),
        ("all", results),
    ):
        print(format_report(summarize(part, thresholds, build), name))


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_eval_arguments(parser)
    args = parser.parse_args(argv)
    report_halves(
        args.faq,
        args.queries,
        Thresholds(answer=args.answer, suggest=args.suggest, margin=args.margin),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
