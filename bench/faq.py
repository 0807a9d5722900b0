"""All FAQ-matching figures in one run: accuracy, decisions, latency, build, loop lag.

    .venv/bin/python -m bench.faq [--eval-dir ../shared/eval] [--skip-scale]
        [--repeats 3] [--reloads 5] [--unseal] [--glossary auto|off|FILE]

* sakura-mart and hikari-mobile: eval figures on the open rows (and the sealed ones with
  ``--unseal``), with what each was tuned on (:mod:`bench.faq_domains`);
* banking77 10-shot (built on the fly from ``EVAL/banking77/train.csv`` into a temporary
  directory by ``bench/banking77_faq.py``, fixed seed): eval figures on even rows
  (tuning), odd rows (held out) and all rows;
* search latency p50/p99 on a 2,000-entry FAQ (one core, sakura-mart queries);
* cold index build time of a 10,000-entry FAQ (median of ``--repeats``, each with a fresh
  :class:`faq.build_cache.BuildCache`, helper processes started included): in one process
  pinned to one core, and with the build process's number of processes on every core, for
  three FAQs: sakura-mart scaled up by :func:`bench.faq_data.scaled_entries` (every string
  distinct), synthetic text in which nothing repeats
  (:func:`bench.faq_data.distinct_synthetic_entries`) and synthetic text whose alternates
  and answers repeat (:func:`bench.faq_data.synthetic_faq_entries`; the cache analyses
  each distinct text once);
* the rebuild after editing one entry (with the cache of a cold build, as hot reloads
  use it);
* hot reloads of that FAQ through :class:`faq.library.FaqLibrary` (``--reloads`` edits of
  a loaded FAQ, alternating two versions): their time, and the event-loop lag (max and
  p99) seen by a probe task that sleeps 1 ms in a loop and records its overshoot; the
  same probe over as long an idle time shows what the machine alone (other processes)
  costs the loop.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import yaml

from bench import banking77_faq
from bench.faq_data import (
    distinct_synthetic_entries,
    load_queries,
    scaled_entries,
    synthetic_faq_entries,
)
from bench.faq_domains import add_glossary_option, report_domains
from bench.faq_eval import report_halves
from faq.analysis_pool import usable_cores
from faq.build_cache import BuildCache
from faq.decision import Thresholds
from faq.eval import configured_glossary, percentile
from faq.library import BUILD_PROCESSES, FaqLibrary
from faq.loader import load_faq
from faq.matcher import Matcher
from faq.model import FaqEntry
from faq.semantic import SemanticConfig

REPO = Path(__file__).resolve().parent.parent
T = TypeVar("T")


def latency(entries: list[FaqEntry], queries: list[str]) -> tuple[float, float]:
    """p50 and p99 search latency in ms over ``queries`` (after a warm-up)."""
    return search_latency(Matcher.build(entries), queries)


def search_latency(matcher: Matcher, queries: list[str]) -> tuple[float, float]:
    """p50 and p99 latency in ms of ``matcher`` over ``queries`` (after a warm-up)."""
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


@dataclass
class _LagProbe:
    """A task that sleeps 1 ms in a loop and records how late each wake-up is."""

    lags: list[float] = field(default_factory=list)
    running: bool = True

    async def run(self) -> None:
        while self.running:
            start = time.perf_counter()
            await asyncio.sleep(0.001)
            self.lags.append((time.perf_counter() - start - 0.001) * 1000)


async def _probed(work: Awaitable[T]) -> tuple[T, list[float]]:
    """``work``'s result and the loop lags (ms) a probe saw while it ran."""
    probe = _LagProbe()
    task = asyncio.create_task(probe.run())
    await asyncio.sleep(0.05)
    probe.lags.clear()
    try:
        return await work, probe.lags
    finally:
        probe.running = False
        await task


async def reload_lags(
    directory: Path, versions: tuple[list[FaqEntry], list[FaqEntry]], runs: int,
    semantic: SemanticConfig | None = None,
) -> list[tuple[float, list[float]]]:
    """Load the FAQ in ``directory`` (``versions[0]``), then hot-reload it ``runs`` times,
    alternating the two versions: (seconds, loop lags in ms) of each reload, with the
    opt-in models of ``semantic``. Last comes
    the loop lag over as long an idle time, for comparison: what the machine (other
    processes) costs the loop anyway."""
    library = FaqLibrary(directory, logging.getLogger("bench.faq"), semantic=semantic)
    await library.load()
    # each version is written beforehand and moved in: dumping 10,000 entries as YAML on
    # the loop would itself stall it
    staged = []
    for i, version in enumerate(versions):
        write_faq(version, directory / f"staged-{i}")
        staged.append((directory / f"staged-{i}" / "faq.yaml").read_bytes())
    results: list[tuple[float, list[float]]] = []
    try:
        for run in range(runs):
            data = staged[(run + 1) % 2]
            await asyncio.to_thread(_replace, directory / "faq.yaml", data)
            start = time.perf_counter()
            reloaded, lags = await _probed(library.reload_if_changed())
            assert reloaded, "the edit was not picked up"
            results.append((time.perf_counter() - start, lags))
    finally:
        await library.close()
    idle = sum(seconds for seconds, _ in results)
    _, lags = await _probed(asyncio.sleep(idle))
    results.append((idle, lags))
    return results


def _replace(path: Path, data: bytes) -> None:
    staging = path.with_suffix(".new")
    staging.write_bytes(data)
    os.replace(staging, path)
    # a distinct mtime even on coarse clocks
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))


def timed_builds(entries: list[FaqEntry], processes: int, repeats: int) -> list[float]:
    """Seconds of ``repeats`` cold builds (a fresh cache each) with ``processes``."""
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        Matcher.build(entries, cache=BuildCache(processes=processes))
        seconds.append(time.perf_counter() - start)
    return seconds


def _figures(seconds: list[float]) -> str:
    runs = ", ".join(f"{s:.2f}" for s in seconds)
    return f"median {statistics.median(seconds):.2f} s ({runs})"


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=REPO.parent / "shared" / "eval")
    parser.add_argument("--skip-scale", action="store_true", help="accuracy figures only")
    parser.add_argument("--repeats", type=int, default=3, help="cold builds per figure")
    parser.add_argument("--reloads", type=int, default=5, help="hot reloads measured")
    parser.add_argument("--unseal", action="store_true",
                        help="also report the sealed rows of the Japanese domains")  # fmt: skip
    add_glossary_option(parser)
    args = parser.parse_args(argv)
    eval_dir: Path = args.eval_dir
    thresholds = Thresholds()
    sakura = eval_dir / "sakura-mart"
    report_domains(eval_dir, thresholds, args.unseal, configured_glossary(args))
    with tempfile.TemporaryDirectory() as tmp:
        banking77_faq.main([str(eval_dir / "banking77" / "train.csv"), tmp])
        report_halves(Path(tmp) / "faq", Path(tmp) / "queries-dev.tsv", thresholds,
                      "banking77 10-shot")
    if args.skip_scale:
        return 0

    repeats: int = args.repeats
    cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    if cores:
        os.sched_setaffinity(0, {min(cores)})  # one core for latency and the 1-process build
    base, _ = load_faq(sakura / "faq.yaml")
    queries = [q for q, _ in load_queries(sakura / "queries-dev.tsv")]
    p50, p99 = latency(scaled_entries(base, 2000), queries)
    print(f"2,000 entries: search p50 {p50:.2f} ms, p99 {p99:.2f} ms ({len(queries)} queries)")
    big = scaled_entries(base, 10_000)
    one_core = _figures(timed_builds(big, 1, repeats))
    print(f"10,000 entries, one process on one core: build {one_core}")
    if cores:
        # the helpers and the build process inherit the affinity: pinned to one core they
        # would share it
        os.sched_setaffinity(0, cores)
    processes = min(BUILD_PROCESSES, usable_cores())
    for name, entries in (
        ("sakura-mart scaled, no text repeats", big),
        ("synthetic, no text repeats", distinct_synthetic_entries(10_000)),
        ("synthetic, alternates and answers repeat", synthetic_faq_entries(10_000)),
    ):
        print(f"10,000 entries ({name}), {processes} processes: build "
              f"{_figures(timed_builds(entries, processes, repeats))}")
    edited = [*big[:-1], *scaled_entries(base, 10_001)[-1:]]
    cache = BuildCache(processes=processes)
    Matcher.build(big, cache=cache)
    start = time.perf_counter()
    Matcher.build(edited, cache=cache)
    print(
        f"10,000 entries: rebuild after editing one entry {time.perf_counter() - start:.2f} s "
        f"({cache.misses} texts analysed, {cache.hits} reused; YAML loading excluded)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        write_faq(big, Path(tmp))
        results = asyncio.run(reload_lags(Path(tmp), (big, edited), args.reloads))
    reloads, (_, idle) = results[:-1], results[-1]
    lags = [lag for _, run in reloads for lag in run]
    print(
        f"10,000 entries: hot reload {_figures([s for s, _ in reloads])}; event-loop lag "
        f"max {max(lags):.1f} ms, p99 {percentile(lags, 0.99):.1f} ms over {len(reloads)} "
        f"reloads (worst per reload: {', '.join(f'{max(r):.1f}' for _, r in reloads)}); "
        f"idle loop as long: max {max(idle):.1f} ms, p99 {percentile(idle, 0.99):.1f} ms "
        f"({len(cores) if cores else '?'} cores, load {os.getloadavg()[0]:.1f})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
