"""A small sparse inverted index: feature → (document ids, weights), stored as one CSR.

Postings live in three flat numpy arrays (offsets, document ids, weights) plus a
feature → row dictionary. Building appends to ``array.array`` buffers, which numpy adopts
without copying, so a 10,000-entry FAQ builds without millions of small Python objects and
without long single calls that would hold the GIL (and stall the event loop during a hot
reload). Scoring a query is one concatenation and one ``np.bincount`` over the postings of
its features.
"""

from __future__ import annotations

import math
from array import array
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class SparseIndex:
    """Immutable inverted index over weighted sparse document vectors."""

    def __init__(self, documents: Sequence[Mapping[str, float]]) -> None:
        rows: dict[str, int] = {}
        feature_ids = array("q")
        doc_ids = array("q")
        weights = array("d")
        for doc_id, doc in enumerate(documents):
            for feature, weight in doc.items():
                if weight:
                    row = rows.get(feature)
                    if row is None:
                        row = rows[feature] = len(rows)
                    feature_ids.append(row)
                    doc_ids.append(doc_id)
                    weights.append(weight)
        features = np.frombuffer(feature_ids, dtype=np.int64) if feature_ids else np.zeros(0, int)
        order = np.argsort(features, kind="stable")
        self._rows = rows
        self._offsets: IntArray = np.searchsorted(
            features[order], np.arange(len(rows) + 1)
        ).astype(np.int64)
        self._doc_ids: IntArray = (
            np.frombuffer(doc_ids, dtype=np.int64)[order] if doc_ids else np.zeros(0, np.int64)
        )
        self._weights: FloatArray = (
            np.frombuffer(weights, dtype=np.float64)[order] if weights else np.zeros(0)
        )
        self._size = len(documents)

    def __getstate__(self) -> dict[str, object]:
        # One string and flat arrays instead of a dict of 100,000s of strings: unpickling a
        # big dict is a single C call that holds the GIL (and stalls an event loop) for
        # longer than rebuilding it in Python chunks does (see FeatureTable).
        return {
            "rows": FeatureTable.pack(self._rows),
            "offsets": self._offsets,
            "doc_ids": self._doc_ids,
            "weights": self._weights,
            "size": self._size,
        }

    def __setstate__(self, state: dict[str, object]) -> None:
        rows = state["rows"]
        assert isinstance(rows, tuple)
        self._rows = {k: int(v) for k, v in FeatureTable.unpack(rows).items()}
        self._offsets = state["offsets"]  # type: ignore[assignment]
        self._doc_ids = state["doc_ids"]  # type: ignore[assignment]
        self._weights = state["weights"]  # type: ignore[assignment]
        self._size = int(state["size"])  # type: ignore[call-overload]

    @property
    def size(self) -> int:
        """Number of documents."""
        return self._size

    def __contains__(self, feature: str) -> bool:
        return feature in self._rows

    def scores(self, query: Mapping[str, float]) -> FloatArray:
        """Dot product of the query vector with every document vector."""
        id_parts: list[IntArray] = []
        value_parts: list[FloatArray] = []
        for feature, weight in query.items():
            row = self._rows.get(feature)
            if row is None:
                continue
            start, end = self._offsets[row], self._offsets[row + 1]
            id_parts.append(self._doc_ids[start:end])
            value_parts.append(self._weights[start:end] * weight)
        if not id_parts:
            return np.zeros(self._size)
        return np.bincount(
            np.concatenate(id_parts), weights=np.concatenate(value_parts), minlength=self._size
        ).astype(np.float64)


class FeatureTable:
    """Packing of ``feature -> number`` dictionaries for pickling.

    Keys go into one NUL-separated string (normalised text never contains NUL) and values
    into one array; unpacking rebuilds the dictionary in chunks of Python code, during
    which other threads (an event loop) get the GIL at the usual switch interval.
    """

    _CHUNK = 20_000

    @staticmethod
    def pack(table: Mapping[str, float]) -> tuple[str, FloatArray]:
        """(joined keys, values)."""
        return "\0".join(table), np.fromiter(table.values(), dtype=np.float64, count=len(table))

    @classmethod
    def unpack(cls, packed: tuple[str, FloatArray]) -> dict[str, float]:
        """The dictionary :meth:`pack` was given."""
        joined, values = packed
        result: dict[str, float] = {}
        if not len(values):
            return result
        start = 0
        done = 0
        while done < len(values):
            # split a slice of the joined string at a time: one huge split would be a
            # single long C call
            end = start
            for _ in range(cls._CHUNK):
                end = joined.find("\0", end + 1) if end < len(joined) else -1
                if end == -1:
                    end = len(joined)
                    break
            keys = joined[start:end].split("\0")
            result.update(zip(keys, values[done : done + len(keys)].tolist(), strict=True))
            done += len(keys)
            start = end + 1
        return result


def document_frequencies(groups: Iterable[Iterable[str]]) -> dict[str, int]:
    """In how many groups (e.g. FAQ entries) each feature occurs."""
    df: dict[str, int] = defaultdict(int)
    for group in groups:
        for feature in set(group):
            df[feature] += 1
    return dict(df)


def idf(df: int, n: int) -> float:
    """BM25's non-negative inverse document frequency."""
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))
