"""Time index build and search latency on a large FAQ made by replicating a real one.

    .venv/bin/python bench/faq_scale.py --faq FAQ_DIR_OR_FILE --queries TSV --size 2000
        [--processes 2]

Entries are copied with suffixed ids until the FAQ has ``--size`` entries (so the vocabulary
is realistic while posting lists grow as in a big FAQ); every query of the TSV is searched.
The index is built by ``--processes`` processes (this one and helpers; default 1).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from pathlib import Path

from faq.build_cache import BuildCache
from faq.loader import check_faq_dir, check_faq_files
from faq.matcher import Matcher


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faq", type=Path, required=True)
    parser.add_argument("--queries", type=Path, required=True)
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--processes", type=int, default=1)
    args = parser.parse_args(argv)
    path: Path = args.faq
    base, problems = check_faq_files([path]) if path.is_file() else check_faq_dir(path)
    if problems or not base:
        raise SystemExit("\n".join(map(str, problems)) or "empty FAQ")
    entries = [
        dataclasses.replace(base[i % len(base)], id=f"{base[i % len(base)].id}-{i}")
        for i in range(args.size)
    ]
    start = time.perf_counter()
    matcher = Matcher.build(entries, cache=BuildCache(processes=args.processes))
    build = time.perf_counter() - start
    queries = [line.split("\t")[0] for line in args.queries.open(encoding="utf-8")][1:]
    for q in queries[:20]:
        matcher.search(q)
    ms = []
    for q in queries:
        t = time.perf_counter()
        matcher.search(q)
        ms.append((time.perf_counter() - t) * 1000)
    ms.sort()
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    print(f"{len(entries)} entries: build {build:.2f} s; search p50 "
          f"{statistics.median(ms):.2f} ms, p99 {p99:.2f} ms over {len(ms)} queries")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
