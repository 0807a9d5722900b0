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
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def stable_order(keys: IntArray, bound: int) -> IntArray:
    """``np.argsort(keys, kind="stable")`` for keys in ``0 .. bound - 1``, faster: numpy
    radix-sorts 16-bit keys (linear time) but merge-sorts wider ones, so keys below 2**32
    are sorted as two 16-bit digits, the low one first (a stable sort by the high digit
    keeps the order of the low one)."""
    if bound > 1 << 32:
        return np.argsort(keys, kind="stable")
    order = np.argsort((keys & 0xFFFF).astype(np.uint16), kind="stable")
    if bound > 1 << 16:
        high = (keys >> 16).astype(np.uint16)
        order = order[np.argsort(high[order], kind="stable")]
    return order


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
        order = stable_order(feature_ids, features)
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

    def holds(self, feature: int, document: int) -> bool:
        """Whether ``document`` has ``feature``."""
        start, end = self._offsets[feature], self._offsets[feature + 1]
        return bool((self._doc_ids[start:end] == document).any())

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


@dataclass(frozen=True)
class PackedStrings:
    """Strings as their UTF-8 bytes back to back, in groups of about
    :data:`StringPack.GROUP_BYTES` (a string never spans two groups)."""

    data: npt.NDArray[np.uint8]
    lengths: IntArray  # characters in each string
    group_sizes: IntArray  # strings in each group
    group_bytes: IntArray  # bytes in each group


class StringPack:
    """Packing of a list of strings for pickling and for sending between processes.

    Unpickling strings (a list of them, or one long joined string) is done by one C call
    that holds the GIL while it decodes them all: tens of milliseconds for the text of a
    10,000-entry FAQ. Arrays unpickle without decoding, and can even travel out of band
    (:mod:`faq.chunked_pickle`). Unpacking decodes a group (some 256 kB) at a time and
    slices the strings out in Python, so an event loop in another thread keeps getting the
    GIL at the usual switch interval. Any character may occur in the strings.
    """

    GROUP_BYTES = 1 << 18

    @classmethod
    def pack(cls, strings: Iterable[str]) -> PackedStrings:
        """The strings, packed."""
        items = list(strings)
        encoded = [s.encode() for s in items]
        sizes = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
        # a string's group is where it starts, in GROUP_BYTES steps
        group = (np.cumsum(sizes) - sizes) // cls.GROUP_BYTES
        used = np.bincount(group) > 0 if len(group) else np.zeros(0, dtype=bool)
        return PackedStrings(
            np.frombuffer(b"".join(encoded), dtype=np.uint8),
            np.fromiter(map(len, items), dtype=np.int64, count=len(items)),
            np.bincount(group)[used] if len(group) else np.zeros(0, dtype=np.int64),
            np.bincount(group, weights=sizes).astype(np.int64)[used]
            if len(group)
            else np.zeros(0, dtype=np.int64),
        )

    @staticmethod
    def unpack(packed: PackedStrings) -> list[str]:
        """The strings :meth:`pack` was given."""
        raw = packed.data.data  # a memoryview: slicing it copies nothing
        lengths = packed.lengths
        strings: list[str] = []
        first = at = 0
        for count, size in zip(packed.group_sizes.tolist(), packed.group_bytes.tolist(),
                               strict=True):
            text = str(raw[at : at + size], "utf-8")
            ends = np.cumsum(lengths[first : first + count]).tolist()
            strings += [text[start:end] for start, end in zip([0, *ends[:-1]], ends,
                                                              strict=True)]
            first += count
            at += size
        return strings


class FeatureTable:
    """Packing of the ``feature -> id`` dictionary (ids 0 .. n - 1) for pickling: the keys
    in id order as a :class:`StringPack`. Unpacking rebuilds the dictionary a chunk at a
    time: building a big dict is a single C call that would hold the GIL for its whole
    length."""

    _CHUNK = 20_000

    @staticmethod
    def pack(ids: Mapping[str, int]) -> PackedStrings:
        """The keys of ``ids`` in id order."""
        return StringPack.pack(sorted(ids, key=ids.__getitem__))

    @classmethod
    def unpack(cls, packed: PackedStrings) -> dict[str, int]:
        """The dictionary :meth:`pack` was given."""
        names = StringPack.unpack(packed)
        result: dict[str, int] = {}
        for start in range(0, len(names), cls._CHUNK):
            end = min(start + cls._CHUNK, len(names))
            result.update(zip(names[start:end], range(start, end), strict=True))
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


def idf_array(df: IntArray, n: int) -> FloatArray:
    """:func:`idf` of every element of ``df``."""
    return np.log(1.0 + (n - df + 0.5) / (df + 0.5))
