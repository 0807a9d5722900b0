"""Where the build time of a big FAQ goes, phase by phase.

    .venv/bin/python -m bench.faq_build_phases [--eval-dir ../shared/eval] [--size 10000]
        [--synthetic] [--repeats 3]

Each phase is timed on its own, in this process, on one thread (median of ``--repeats``
runs; wall and CPU seconds, since other work on the machine inflates wall time):

* YAML: :func:`faq.loader.load_faq` of the FAQ written as one file;
* normalisation: :func:`faq.normalize.normalize` of every text the index analyses;
* Sudachi: tokenizing the Japanese runs of those texts (SplitMode C), reading each
  morpheme's word id and surface, as the analyzer does;
* analysis: :func:`faq.feature_batch.analyze_batch` of every text with a fresh analyzer,
  as a one-process build does it (it includes the two phases above; the rest is the
  Python that turns morphemes into words, synonym groups and reading n-grams, and the
  counting);
* cold build: :meth:`faq.matcher.Matcher.build` in one process; minus the analysis, this
  is numbering the features and assembling the index arrays;
* assembly: a rebuild whose texts are all in the :class:`faq.build_cache.BuildCache`;
* cold build with the build process's number of processes (helpers started included);
* pickling: what the build process sends back (:mod:`faq.chunked_pickle`), and
  unpickling it.

The FAQ is :func:`bench.faq_data.scaled_entries` of sakura-mart (every string distinct), or
with ``--synthetic`` :func:`bench.faq_data.distinct_synthetic_entries` (nothing repeats).
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.faq import write_faq
from bench.faq_data import distinct_synthetic_entries, scaled_entries
from faq.analysis_pool import usable_cores
from faq.analyzer import TextAnalyzer
from faq.build_cache import BuildCache
from faq.feature_batch import TextKey, analyze_batch
from faq.library import BUILD_PROCESSES
from faq.loader import load_faq
from faq.matcher import DEFAULT_PARAMS, Matcher
from faq.model import FaqEntry
from faq.normalize import normalize
from faq.synonyms import SynonymTable

REPO = Path(__file__).resolve().parent.parent

# (text, analysed up to this many characters, with readings): as Matcher.build asks
_Text = tuple[str, int | None, bool]


def index_texts(entries: list[FaqEntry]) -> list[_Text]:
    """The texts a build analyses, with the options it analyses them with."""
    p = DEFAULT_PARAMS
    texts: list[_Text] = []
    for e in entries:
        texts += [(e.question, None, True), *((a, None, True) for a in e.alternates)]
        texts.append((e.answer, p.answer_chars, p.answer_readings))
    return texts


def _normalised(text: str, limit: int | None) -> str:
    norm = normalize(text[: limit * 2] if limit else text)
    return norm[:limit] if limit else norm


def timed(run: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median (wall, CPU) seconds of ``repeats`` calls."""
    walls: list[float] = []
    cpus: list[float] = []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def sudachi_pass(runs: list[str]) -> Callable[[], object]:
    """Tokenizing ``runs`` as the analyzer does (mode C; word id and surface read)."""
    from sudachipy import Dictionary, SplitMode

    tokenizer = Dictionary(dict="core").tokenizer()

    def run() -> None:
        for text in runs:
            for m in tokenizer.tokenize(text, SplitMode.C):
                m.word_id()
                m.surface()

    return run


def japanese_runs(texts: list[_Text]) -> list[str]:
    """The stretches of normalised text between Latin words that go to Sudachi."""
    from faq.analyzer import _LATIN_WORD

    runs: list[str] = []
    for text, limit, _ in texts:
        norm = _normalised(text, limit)
        at = 0
        for m in _LATIN_WORD.finditer(norm):
            runs.append(norm[at : m.start()])
            at = m.end()
        runs.append(norm[at:])
    return [r for r in runs if r.strip() and not r.isascii()]


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=REPO.parent / "shared" / "eval")
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--synthetic", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    repeats: int = args.repeats
    if args.synthetic:
        entries = distinct_synthetic_entries(args.size)
    else:
        base, _ = load_faq(args.eval_dir / "sakura-mart" / "faq.yaml")
        entries = scaled_entries(base, args.size)
    texts = index_texts(entries)
    runs = japanese_runs(texts)
    print(f"{len(entries)} entries, {len(texts)} texts, {len(runs)} Japanese runs of "
          f"{sum(map(len, runs))} characters; median of {repeats} runs, wall / CPU s")

    def show(name: str, figures: tuple[float, float]) -> tuple[float, float]:
        print(f"  {name:<44} {figures[0]:6.2f} / {figures[1]:6.2f}")
        return figures

    with tempfile.TemporaryDirectory() as tmp:
        write_faq(entries, Path(tmp))
        show("YAML load", timed(lambda: load_faq(Path(tmp)), repeats))
    show("normalisation", timed(lambda: [_normalised(t, n) for t, n, _ in texts], repeats))
    sudachi = show("Sudachi tokenization", timed(sudachi_pass(runs), repeats))

    synonyms = SynonymTable()
    keys: list[TextKey] = [(text, True, limit, False, readings) for text, limit, readings in texts]
    analysis = show("analysis (all of it)", timed(
        lambda: analyze_batch(TextAnalyzer(loanwords=True), synonyms, keys), repeats))
    show("  of which not Sudachi", (analysis[0] - sudachi[0], analysis[1] - sudachi[1]))
    build = show("cold build, one process", timed(
        lambda: Matcher.build(entries, cache=BuildCache(processes=1)), repeats))
    show("  of which not analysis", (build[0] - analysis[0], build[1] - analysis[1]))
    cache = BuildCache()
    matcher = Matcher.build(entries, cache=cache)
    show("assembly (every text cached)",
         timed(lambda: Matcher.build(entries, cache=cache), repeats))
    processes = min(BUILD_PROCESSES, usable_cores())
    show(f"cold build, {processes} processes (CPU: this one)", timed(
        lambda: Matcher.build(entries, cache=BuildCache(processes=processes)), repeats))
    buffers: list[pickle.PickleBuffer] = []
    data = pickle.dumps(matcher, protocol=5, buffer_callback=buffers.append)
    size = (len(data) + sum(b.raw().nbytes for b in buffers)) / 1e6
    show(f"pickle, buffers out of band ({size:.0f} MB)", timed(
        lambda: pickle.dumps(matcher, protocol=5, buffer_callback=lambda b: None), repeats))
    show("unpickle", timed(lambda: pickle.loads(data, buffers=buffers), repeats))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
