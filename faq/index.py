"""Sparse inverted indexes over integer feature ids, assembled with numpy from flat arrays.

A build produces every (document, feature, weight) posting as three flat arrays; one stable
sort by feature turns them into a CSR (offsets, document ids, weights). No Python object is
made per posting, so a 10,000-entry FAQ assembles in a fraction of a second. Scoring a query
is one concatenation and one ``np.bincount`` over the postings of its features.

Features are numbered by the caller (:class:`faq.matcher.Matcher` keeps the one
``feature -> id`` dictionary); :class:`FeatureTable` packs such a dictionary for pickling.
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
    """Immutable inverted index: for each feature id, the documents that have it and the
    weights."""

    def __init__(
        self,
        doc_ids: IntArray,
        feature_ids: IntArray,
        weights: FloatArray,
        *,
        size: int,
        features: int,
    ) -> None:
        """Postings as three parallel arrays; ``size`` documents, ``features`` feature ids
        (0 .. features - 1). Zero weights are dropped."""
        keep = weights != 0.0
        if not keep.all():
            doc_ids, feature_ids, weights = doc_ids[keep], feature_ids[keep], weights[keep]
        # stable: within a feature, documents stay in the order the caller gave them
        order = np.argsort(feature_ids, kind="stable")
        self._offsets: IntArray = np.zeros(features + 1, dtype=np.int64)
        np.cumsum(np.bincount(feature_ids, minlength=features), out=self._offsets[1:])
        self._doc_ids: IntArray = doc_ids[order].astype(np.int64, copy=False)
        self._weights: FloatArray = weights[order].astype(np.float64, copy=False)
        self._size = size

    @classmethod
    def from_documents(cls, documents: Sequence[Mapping[int, float]], features: int) -> SparseIndex:
        """An index of documents given as ``feature id -> weight`` mappings (small indexes
        and tests)."""
        doc_ids = array("q")
        feature_ids = array("q")
        weights = array("d")
        for doc_id, doc in enumerate(documents):
            for feature, weight in doc.items():
                doc_ids.append(doc_id)
                feature_ids.append(feature)
                weights.append(weight)
        return cls(
            np.array(doc_ids, dtype=np.int64),
            np.array(feature_ids, dtype=np.int64),
            np.array(weights, dtype=np.float64),
            size=len(documents),
            features=features,
        )

    @property
    def size(self) -> int:
        """Number of documents."""
        return self._size

    def postings(self, feature: int) -> int:
        """How many documents have ``feature``."""
        return int(self._offsets[feature + 1] - self._offsets[feature])

    def scores(self, query: Iterable[tuple[int, float]]) -> FloatArray:
        """Dot product of the query vector (feature id, weight pairs) with every document."""
        id_parts: list[IntArray] = []
        value_parts: list[FloatArray] = []
        offsets = self._offsets
        for feature, weight in query:
            start, end = offsets[feature], offsets[feature + 1]
            if start == end:
                continue
            id_parts.append(self._doc_ids[start:end])
            value_parts.append(self._weights[start:end] * weight)
        if not id_parts:
            return np.zeros(self._size)
        return np.bincount(
            np.concatenate(id_parts), weights=np.concatenate(value_parts), minlength=self._size
        ).astype(np.float64)


class FeatureTable:
    """Packing of the ``feature -> id`` dictionary (ids 0 .. n - 1) for pickling.

    Keys go into one NUL-separated string in id order (normalised text never contains NUL);
    unpacking rebuilds the dictionary in chunks of Python code, during which other threads
    (an event loop) get the GIL at the usual switch interval: unpickling a big dict is a
    single C call that would hold the GIL for its whole length.
    """

    _CHUNK = 20_000

    @staticmethod
    def pack(ids: Mapping[str, int]) -> str:
        """The keys of ``ids`` joined in id order."""
        names = sorted(ids, key=ids.__getitem__)
        return "\0".join(names)

    @classmethod
    def unpack(cls, joined: str, count: int) -> dict[str, int]:
        """The dictionary :meth:`pack` was given (``count`` keys)."""
        result: dict[str, int] = {}
        start = 0
        while len(result) < count:
            # split a slice of the joined string at a time: one huge split would be a
            # single long C call
            end = start
            for _ in range(cls._CHUNK):
                end = joined.find("\0", end + 1) if end < len(joined) else -1
                if end == -1:
                    end = len(joined)
                    break
            keys = joined[start:end].split("\0")
            result.update(zip(keys, range(len(result), len(result) + len(keys)), strict=True))
            start = end + 1
        return result


class StringPack:
    """Packing of a list of strings for pickling: one joined string and the lengths.

    Unpickling a list of 100,000s of strings (or of objects made of them) is one C call
    that holds the GIL for tens of milliseconds; slicing them back out is Python code, so
    an event loop in another thread keeps getting the GIL at the usual switch interval.
    Any character may occur in the strings (no separator).
    """

    @staticmethod
    def pack(strings: Iterable[str]) -> tuple[str, IntArray]:
        """(joined strings, their lengths)."""
        items = list(strings)
        return "".join(items), np.fromiter(map(len, items), dtype=np.int64, count=len(items))

    @staticmethod
    def unpack(packed: tuple[str, IntArray]) -> list[str]:
        """The strings :meth:`pack` was given."""
        joined, lengths = packed
        ends = np.cumsum(lengths).tolist()
        starts = [0, *ends[:-1]] if ends else []
        return [joined[start:end] for start, end in zip(starts, ends, strict=True)]


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


def idf_array(df: IntArray, n: int) -> FloatArray:
    """:func:`idf` of every element of ``df``."""
    return np.log(1.0 + (n - df + 0.5) / (df + 0.5))
