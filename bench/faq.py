"""All FAQ-matching figures in one run: accuracy, decisions, latency, build, loop lag.

    .venv/bin/python -m bench.faq [--eval-dir ../shared/eval] [--skip-scale]

* sakura-mart (``EVAL/sakura-mart``) and banking77 10-shot (built on the fly from
  ``EVAL/banking77/train.csv`` into a temporary directory by ``bench/banking77_faq.py``,
  fixed seed): eval figures on even rows (tuning), odd rows (held out) and all rows;
* search latency p50/p99 on a 2,000-entry FAQ (one core, sakura-mart queries);
* index build time of a 10,000-entry FAQ, cold and after editing one entry (with the
  :class:`faq.matcher.BuildCache` of the cold build, as hot reloads use it);
* the worst event-loop lag while :class:`faq.library.FaqLibrary` hot-reloads that FAQ,
  measured by a probe task that sleeps 1 ms in a loop and records its overshoot.

The big FAQs are made from sakura-mart by :func:`bench.faq_data.scaled_entries` (every
string distinct, so no cache shortcuts the build).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import tempfile
import time
from pathlib import Path

import yaml

from bench import banking77_faq
from bench.faq_data import load_queries, scaled_entries
from bench.faq_eval import report_halves
from faq.build_cache import BuildCache
from faq.decision import Thresholds
from faq.eval import percentile
from faq.library import FaqLibrary
from faq.loader import load_faq
from faq.matcher import Matcher
from faq.model import FaqEntry

REPO = Path(__file__).resolve().parent.parent


def latency(entries: list[FaqEntry], queries: list[str]) -> tuple[float, float]:
    """p50 and p99 search latency in ms over ``queries`` (after a warm-up)."""
    matcher = Matcher.build(entries)
    for q in queries[:20]:
        matcher.search(q)
    ms = []
    for q in queries:
        start = time.perf_counter()
        matcher.search(q, top_k=10)
        ms.append((time.perf_counter() - start) * 1000)
    return percentile(ms, 0.5), percentile(ms, 0.99)


def write_faq(entries: list[FaqEntry], directory: Path) -> None:
    """Write entries as one FAQ file."""
    directory.mkdir(parents=True, exist_ok=True)
    data = {
        "locale": "ja",
        "entries": [
            {"id": e.id, "category": e.category, "question": e.question,
             "alternates": list(e.alternates), "answer": e.answer}
            for e in entries
        ],
    }
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000)
    (directory / "faq.yaml").write_text(text, encoding="utf-8")


async def reload_lag(directory: Path, changed: list[FaqEntry]) -> tuple[float, float]:
    """(seconds the hot reload took, worst loop lag in ms) for an edit of a loaded FAQ."""
    library = FaqLibrary(directory, logging.getLogger("bench.faq"))
    await library.load()
    worst = 0.0
    done = False

    async def probe() -> None:
        nonlocal worst
        while not done:
            start = time.perf_counter()
            await asyncio.sleep(0.001)
            worst = max(worst, time.perf_counter() - start - 0.001)

    # the edit is written beforehand and moved in: dumping 10,000 entries as YAML on the
    # loop would itself stall it
    staging = directory / "staging"
    write_faq(changed, staging)
    task = asyncio.create_task(probe())
    await asyncio.sleep(0.05)
    os.replace(staging / "faq.yaml", directory / "faq.yaml")
    start = time.perf_counter()
    reloaded = await library.reload_if_changed()
    seconds = time.perf_counter() - start
    done = True
    await task
    await library.close()
    assert reloaded, "the edit was not picked up"
    return seconds, worst * 1000


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=REPO.parent / "shared" / "eval")
    parser.add_argument("--skip-scale", action="store_true", help="accuracy figures only")
    args = parser.parse_args(argv)
    eval_dir: Path = args.eval_dir
    thresholds = Thresholds()
    sakura = eval_dir / "sakura-mart"
    report_halves(sakura / "faq.yaml", sakura / "queries-dev.tsv", thresholds, "sakura-mart")
    with tempfile.TemporaryDirectory() as tmp:
        banking77_faq.main([str(eval_dir / "banking77" / "train.csv"), tmp])
        report_halves(Path(tmp) / "faq", Path(tmp) / "queries-dev.tsv", thresholds,
                      "banking77 10-shot")
    if args.skip_scale:
        return 0

    cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    if cores:
        os.sched_setaffinity(0, {min(cores)})  # one core for latency and build
    base, _ = load_faq(sakura / "faq.yaml")
    queries = [q for q, _ in load_queries(sakura / "queries-dev.tsv")]
    p50, p99 = latency(scaled_entries(base, 2000), queries)
    print(f"2,000 entries: search p50 {p50:.2f} ms, p99 {p99:.2f} ms ({len(queries)} queries)")
    big = scaled_entries(base, 10_000)
    edited = [*big[:-1], *scaled_entries(base, 10_001)[-1:]]
    cache = BuildCache()
    start = time.perf_counter()
    Matcher.build(big, cache=cache)
    print(f"10,000 entries: build {time.perf_counter() - start:.2f} s (one core, one thread)")
    start = time.perf_counter()
    Matcher.build(edited, cache=cache)
    print(
        f"10,000 entries: rebuild after editing one entry {time.perf_counter() - start:.2f} s "
        f"({cache.misses} texts analysed, {cache.hits} reused; YAML loading excluded)"
    )
    if cores:
        # the reload builds in a child process, which inherits the affinity: pinned to the
        # loop's core it would compete with the loop for that one core
        os.sched_setaffinity(0, cores)
    with tempfile.TemporaryDirectory() as tmp:
        write_faq(big, Path(tmp))
        seconds, lag = asyncio.run(reload_lag(Path(tmp), edited))
    print(
        f"10,000 entries: hot reload {seconds:.2f} s, worst event-loop lag {lag:.1f} ms "
        f"({len(cores) if cores else '?'} cores)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
