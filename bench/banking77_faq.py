"""Build a 10-shot FAQ and a dev query set from banking77's train.csv.

    .venv/bin/python bench/banking77_faq.py /work/shared/eval/banking77/train.csv /tmp/b77

writes ``/tmp/b77/faq/banking77.yaml`` (one entry per intent: 10 utterances, the first as
the question and nine as alternates; the answer is the intent name humanised; locale en)
and ``/tmp/b77/queries-dev.tsv`` (other train utterances, ``--per-intent`` per intent).
Sampling uses a fixed seed so the split is reproducible.
"""

from __future__ import annotations

import argparse
import csv
import random
import re
from collections import defaultdict
from pathlib import Path

import yaml


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("train_csv", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--shots", type=int, default=10)
    parser.add_argument("--per-intent", type=int, default=20)
    parser.add_argument("--seed", type=int, default=77)
    args = parser.parse_args(argv)

    by_intent: dict[str, list[str]] = defaultdict(list)
    with args.train_csv.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            by_intent[row["category"]].append(row["text"].strip())

    rng = random.Random(args.seed)
    entries = []
    queries: list[tuple[str, str]] = []
    for intent in sorted(by_intent):
        texts = by_intent[intent][:]
        rng.shuffle(texts)
        shots, rest = texts[: args.shots], texts[args.shots :]
        entry_id = re.sub(r"[^a-z0-9]+", "-", intent.lower()).strip("-")
        entries.append(
            {
                "id": entry_id,
                "category": "banking",
                "question": shots[0],
                "alternates": shots[1:],
                "answer": intent.replace("_", " ").capitalize() + ".",
            }
        )
        queries.extend((t, entry_id) for t in rest[: args.per_intent])
    rng.shuffle(queries)

    faq_dir = args.out_dir / "faq"
    faq_dir.mkdir(parents=True, exist_ok=True)
    with (faq_dir / "banking77.yaml").open("w", encoding="utf-8") as f:
        yaml.safe_dump(
            {"locale": "en", "entries": entries}, f, allow_unicode=True, sort_keys=False, width=1000
        )
    with (args.out_dir / "queries-dev.tsv").open("w", encoding="utf-8", newline="") as f:
        f.write("query\texpected_id\n")
        f.writelines(f"{' '.join(q.split())}\t{i}\n" for q, i in queries)
    print(f"{len(entries)} entries -> {faq_dir}, {len(queries)} queries -> {args.out_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
