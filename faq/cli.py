"""Admin commands: ``faq check``, ``faq test`` and ``faq search``.

The top-level CLI (``bot/cli.py``) calls :func:`register` with its subparsers. Each command
sets ``func`` to a callable taking the parsed namespace and returning the exit code.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from faq.decision import Decision, Thresholds, decide
from faq.encoder import EncoderError
from faq.eval import add_arguments as add_eval_arguments
from faq.eval import configured_glossary, configured_semantic, eval_command
from faq.glossary import GlossaryError
from faq.library import build_matcher
from faq.lint import lint_faq
from faq.loader import check_faq_dir, faq_files
from faq.matcher import Matcher
from faq.model import FaqEntry, FaqError


def demo_faq_dir() -> Path:
    """The demo FAQ shipped inside the package (``faq/demo/``)."""
    return Path(__file__).resolve().parent / "demo"


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """Add the ``faq`` command group (check, test, search, lint); return the group so
    the caller can add commands that need more than the FAQ (``faq unanswered``)."""
    faq = subparsers.add_parser("faq", help="check, test and search the FAQ")
    commands = faq.add_subparsers(dest="faq_command", required=True)

    check = commands.add_parser("check", help="validate FAQ files; print problems as file:line")
    check.add_argument("dir", nargs="?", type=Path, help="FAQ directory")
    check.set_defaults(func=check_command)

    test = commands.add_parser("test", help="check that every entry's examples hit the entry")
    test.add_argument("dir", nargs="?", type=Path, help="FAQ directory")
    test.set_defaults(func=test_command)

    search = commands.add_parser("search", help="search queries read from stdin, print JSON lines")
    search.add_argument("--faq", type=Path, dest="dir", help="FAQ directory")
    search.add_argument("--top", type=int, default=5, help="results per query (default 5)")
    search.set_defaults(func=search_command)

    lint = commands.add_parser("lint", help="warn about entries the matcher cannot tell apart")
    lint.add_argument("dir", nargs="?", type=Path, help="FAQ directory")
    lint.add_argument("--strict", action="store_true", help="exit 1 when there are warnings")
    lint.set_defaults(func=lint_command)

    evaluate = commands.add_parser(
        "eval", help="measure matching and decisions on a TSV of labelled queries"
    )
    add_eval_arguments(evaluate)
    evaluate.set_defaults(func=eval_command)
    return commands


def _thresholds(args: argparse.Namespace) -> Thresholds:
    """The server's configured thresholds when the top-level CLI passes them."""
    configured = getattr(args, "thresholds", None)
    return configured if isinstance(configured, Thresholds) else Thresholds()


def lint_command(args: argparse.Namespace) -> int:
    """``faq lint [DIR]``: print warnings as file:line; with --strict, exit 1 on any."""
    matcher = _matcher(_faq_dir(args), args)
    if matcher is None:
        return 1
    entries = matcher.entries
    warnings = lint_faq(entries, _thresholds(args), matcher)
    for warning in warnings:
        print(warning)
    print(f"{len(warnings)} warning(s) for {len(entries)} entries", file=sys.stderr)
    return 1 if warnings and args.strict else 0


def _faq_dir(args: argparse.Namespace) -> Path:
    if args.dir is not None:
        return Path(args.dir)
    default = getattr(args, "default_faq_dir", None)
    return Path(default) if default is not None else demo_faq_dir()


def _load(directory: Path) -> tuple[FaqEntry, ...] | None:
    """Entries, or None after printing every problem to stderr."""
    entries, problems = check_faq_dir(directory)
    for problem in problems:
        print(problem, file=sys.stderr)
    return None if problems else entries


def _matcher(directory: Path, args: argparse.Namespace) -> Matcher | None:
    """The matcher the server would build (entries, synonyms and the configured encoder),
    or None after printing every problem to stderr."""
    try:
        matcher = build_matcher(directory).with_glossary(configured_glossary(args))
        models = configured_semantic(args).load()
        return matcher.with_models(models) if models else matcher
    except FaqError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return None
    except (EncoderError, GlossaryError) as exc:
        print(exc, file=sys.stderr)
        return None


def check_command(args: argparse.Namespace) -> int:
    """``faq check [DIR]``: exit 1 and list problems, or print a one-line summary."""
    directory = _faq_dir(args)
    entries = _load(directory)
    if entries is None:
        return 1
    print(f"OK: {len(entries)} entries in {len(faq_files(directory))} files ({directory})")
    return 0


def test_command(args: argparse.Namespace) -> int:
    """``faq test [DIR]``: every example must be answered outright with its own entry."""
    matcher = _matcher(_faq_dir(args), args)
    if matcher is None:
        return 1
    thresholds = _thresholds(args)
    total = misses = 0
    for entry in matcher.entries:
        for example in entry.examples:
            total += 1
            matches = matcher.search(example, top_k=thresholds.max_choices, locale=entry.locale)
            outcome = decide(matches, thresholds)
            top = matches[0] if matches else None
            if outcome.decision == Decision.ANSWER and top is not None and top.entry == entry:
                continue
            misses += 1
            got = f"{top.entry.id} ({top.score:.3f})" if top else "nothing"
            print(
                f"MISS {entry.source}:{entry.line}: {entry.id}: {example!r} -> "
                f"{outcome.decision.value}, top {got}",
                file=sys.stderr,
            )
    print(f"{total - misses}/{total} examples hit their entry")
    return 1 if misses else 0


def search_command(args: argparse.Namespace) -> int:
    """``faq search --faq DIR --top K``: one JSON line of ranked results per stdin line."""
    matcher = _matcher(_faq_dir(args), args)
    if matcher is None:
        return 1
    for line in sys.stdin:
        query = line.rstrip("\n")
        if not query.strip():
            continue
        results = [
            {"id": m.entry.id, "score": round(m.score, 4)}
            for m in matcher.search(query, top_k=args.top)
        ]
        print(json.dumps({"query": query, "results": results}, ensure_ascii=False), flush=True)
    return 0
