"""Fit the confidence calibration (logistic regression) on the tuning half of query sets.

    .venv/bin/python bench/faq_calibrate.py --set FAQ QUERIES_TSV [--set ...]

For each even data row the top match gives three features, its fused score, its margin
over the runner-up and the share of the message's words unknown to the FAQ; the label is 1
if it is the expected entry (0 for NONE rows and misses). Prints ``bias``, ``score_coef``,
``margin_coef`` and ``unknown_coef`` for ``faq.matcher.ScoringParams``. Sets are weighted
equally whatever their size.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from faq.loader import check_faq_dir, check_faq_files
from faq.matcher import Matcher


def features(faq: Path, queries: Path) -> tuple[np.ndarray, np.ndarray]:
    """(X, y) for the even rows of one query set."""
    entries, problems = check_faq_files([faq]) if faq.is_file() else check_faq_dir(faq)
    if problems:
        raise SystemExit("\n".join(map(str, problems)))
    matcher = Matcher.build(entries)
    rows = [line.rstrip("\n").split("\t") for line in queries.open(encoding="utf-8")][1:]
    xs, ys = [], []
    for text, expected in (r[:2] for r in rows[0::2] if len(r) >= 2):
        xs.append(matcher.signals(text))
        ys.append(1.0 if matcher.evidence(text, top_k=1)[0][0].id == expected else 0.0)
    return np.asarray(xs), np.asarray(ys)


def fit(x: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float = 1e-3) -> np.ndarray:
    """Weighted logistic regression by Newton's method; returns [bias, coef...]."""
    a = np.hstack([np.ones((len(x), 1)), x])
    beta = np.zeros(a.shape[1])
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-a @ beta))
        grad = a.T @ (w * (p - y)) + l2 * beta
        hess = (a * (w * p * (1 - p))[:, None]).T @ a + l2 * np.eye(a.shape[1])
        beta -= np.linalg.solve(hess, grad)
    return beta


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", nargs=2, action="append", metavar=("FAQ", "TSV"), required=True)
    args = parser.parse_args(argv)
    xs, ys, ws = [], [], []
    for faq, tsv in args.set:
        x, y = features(Path(faq), Path(tsv))
        xs.append(x)
        ys.append(y)
        ws.append(np.full(len(y), 1.0 / len(y)))
        print(f"{faq}: {len(y)} rows, top-1 right {y.mean():.1%}")
    beta = fit(np.vstack(xs), np.concatenate(ys), np.concatenate(ws) * len(args.set))
    print(
        f"bias={beta[0]:.3f} score_coef={beta[1]:.3f} margin_coef={beta[2]:.3f} "
        f"unknown_coef={beta[3]:.3f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
