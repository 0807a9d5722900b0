"""Many texts analysed into one compact batch of features, as an index build needs them.

A build analyses tens of thousands of texts (questions, alternates, answer openings). A
:class:`FeatureBatch` holds the features of many texts as a few flat arrays and two packed
strings, numbered locally (in the order they first occur), so that it pickles in
milliseconds and can travel between processes (:mod:`faq.analysis_pool`); the build maps
the local numbers to its own (:class:`faq.build_cache.BuildCache`).

Per text, postings come channel by channel (:data:`CHANNELS`), and within a channel in the
order the analysis first met each feature: the order in which an index build adds them up,
which therefore must not change.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from faq.analyzer import Analysis, TextAnalyzer
from faq.index import IntArray, PackedStrings, StringPack
from faq.synonyms import SynonymTable

# word, synonym group, kana-reading n-gram, character n-gram: a feature's name is its
# channel's letter, a colon and the feature (``w:送料``)
CHANNELS = ("w", "s", "r", "c")

# how a build asks for a text: (text, fold synonyms, analyse at most this many characters,
# character n-grams, kana readings)
TextKey = tuple[str, bool, int | None, bool, bool]

Int32Array = npt.NDArray[np.int32]


def channel_counts(analysis: Analysis) -> dict[str, Counter[str]]:
    """The analysis's term counts per channel, in :data:`CHANNELS` order."""
    return {
        "w": analysis.words,
        "s": analysis.synonyms,
        "r": analysis.readings,
        "c": analysis.chars,
    }


@dataclass(frozen=True)
class FeatureBatch:
    """The features of consecutive texts.

    ``names`` are the distinct feature names of the batch (``StringPack``-packed, in the
    order first used); text ``i`` has ``sizes[i]`` postings, each a local feature number
    (an index into ``names``) in ``features`` and a term count in ``counts``; ``keys`` are
    the texts' kana keys (packed), for fuzzy comparison.
    """

    names: PackedStrings
    features: Int32Array
    counts: Int32Array
    sizes: Int32Array
    keys: PackedStrings

    def __len__(self) -> int:
        return len(self.sizes)


class _Vocabulary(dict[str, int]):
    """``term -> number`` that numbers a term the first time it is looked up, so that a
    whole list of terms converts with one ``map`` (a C loop)."""

    def __init__(self) -> None:
        super().__init__()
        self.terms: list[str] = []

    def __missing__(self, term: str) -> int:
        number = self[term] = len(self.terms)
        self.terms.append(term)
        return number


class _Channel:
    """One channel's term occurrences over the batch, text by text, in order."""

    def __init__(self) -> None:
        self.vocabulary = _Vocabulary()
        self.numbers: list[int] = []
        self.per_text: list[int] = []

    def add(self, terms: list[str]) -> None:
        self.numbers += map(self.vocabulary.__getitem__, terms)
        self.per_text.append(len(terms))

    def occurrences(self) -> tuple[IntArray, IntArray, list[str]]:
        """(text of each occurrence, term number of each, the terms)."""
        owners = np.repeat(np.arange(len(self.per_text)), self.per_text)
        return owners, np.array(self.numbers, dtype=np.int64), self.vocabulary.terms


class _NgramChannel:
    """Texts whose n-grams (:func:`faq.analyzer.char_ngrams`) are a channel's terms."""

    def __init__(self) -> None:
        self.sources: list[str] = []
        self.per_text: list[int] = []

    def add(self, sources: list[str]) -> None:
        self.sources += sources
        self.per_text.append(len(sources))

    def occurrences(self) -> tuple[IntArray, IntArray, list[str]]:
        """As :meth:`_Channel.occurrences`: the n-grams of each text's sources in the order
        ``char_ngrams`` yields them, computed on code points with numpy."""
        source_owner = np.repeat(np.arange(len(self.per_text)), self.per_text)
        chunks: list[str] = []
        chunk_count: list[int] = []
        for source in self.sources:
            parts = source.split()
            chunks += parts
            chunk_count.append(len(parts))
        if not chunks:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), []
        chunk_owner = np.repeat(source_owner, chunk_count)
        length = np.fromiter(map(len, chunks), np.int64, len(chunks))
        start = np.cumsum(length) - length
        # per chunk: its 2-grams (or the chunk itself if it has one character), then its
        # 3-grams
        twos = np.where(length >= 2, length - 1, 1)
        threes = np.maximum(length - 2, 0)
        grams = twos + threes
        chunk_of = np.repeat(np.arange(len(chunks)), grams)
        k = np.arange(int(grams.sum())) - np.repeat(np.cumsum(grams) - grams, grams)
        is_three = k >= twos[chunk_of]
        size = np.where(is_three, 3, np.minimum(length[chunk_of], 2))
        at = start[chunk_of] + np.where(is_three, k - twos[chunk_of], k)
        joined = "".join(chunks)
        # code points + 1 (so no character is 0), 21 bits each: a gram's code says which
        # characters it has and how many
        points = np.frombuffer((joined + "\0\0").encode("utf-32-le"), np.uint32).astype(
            np.uint64
        ) + np.uint64(1)
        code = points[at]
        code = np.where(size >= 2, (code << 21) | points[at + 1], code)
        code = np.where(size == 3, (code << 21) | points[at + 2], code)
        _, first, numbers = np.unique(code, return_index=True, return_inverse=True)
        terms = [joined[a : a + n] for a, n in zip(at[first].tolist(), size[first].tolist(),
                                                   strict=True)]
        return chunk_owner[chunk_of], numbers.astype(np.int64), terms


def _counted(
    owners: IntArray, numbers: IntArray, terms: int
) -> tuple[IntArray, IntArray, IntArray]:
    """Each text's distinct terms with their counts, in the order of first occurrence
    (a ``Counter`` per text): (text, term number, count)."""
    if not len(owners):
        return owners, numbers, numbers
    distinct, first, counts = np.unique(
        owners * terms + numbers, return_index=True, return_counts=True
    )
    # occurrences come text by text, so first-occurrence order is also text order
    order = np.argsort(first)
    distinct = distinct[order]
    return distinct // terms, distinct % terms, counts[order]


def analyze_batch(
    analyzer: TextAnalyzer, synonyms: SynonymTable, texts: Sequence[TextKey]
) -> FeatureBatch:
    """Analyse ``texts`` with ``analyzer`` (folding ``synonyms`` where a key asks for it).

    The same features as :meth:`faq.analyzer.TextAnalyzer.analyze` of each text, but
    counted for the whole batch at once with numpy, and n-grams made from code points:
    no ``Counter`` and no n-gram string per text, which were a third of the Python time
    of an analysis."""
    words, synonym_groups = _Channel(), _Channel()
    readings_, chars_ = _NgramChannel(), _NgramChannel()
    keys: list[str] = []
    for text, rewrite, limit, chars, readings in texts:
        terms = analyzer.terms(
            text, rewrite=synonyms.rewrite if rewrite else None, limit=limit, readings=readings
        )
        words.add(terms.words)
        synonym_groups.add(terms.synonyms)
        readings_.add(terms.reading_runs)
        chars_.add([terms.key] if chars else [])
        keys.append(terms.key)
    channels: tuple[_Channel | _NgramChannel, ...] = (words, synonym_groups, readings_, chars_)

    # postings of every channel, then ordered text by text and channel by channel
    names: list[str] = []
    parts: list[tuple[IntArray, IntArray, IntArray, IntArray]] = []
    for number, (channel, source) in enumerate(zip(CHANNELS, channels, strict=True)):
        owners, numbers, vocabulary = source.occurrences()
        owner, term, count = _counted(owners, numbers, max(len(vocabulary), 1))
        parts.append((owner, np.full(len(owner), number), term + len(names), count))
        names += [f"{channel}:{t}" for t in vocabulary]
    owner, channel_of, name, count = (
        np.concatenate(column) for column in zip(*parts, strict=True)
    )
    order = np.argsort(owner * len(CHANNELS) + channel_of, kind="stable")
    owner, name, count = owner[order], name[order], count[order]

    # local numbers in order of first use, as analysing text by text would give them
    used, first, local = np.unique(name, return_index=True, return_inverse=True)
    by_first = np.argsort(first)
    renumber = np.empty(len(used), np.int64)
    renumber[by_first] = np.arange(len(used))
    return FeatureBatch(
        StringPack.pack(names[i] for i in used[by_first].tolist()),
        renumber[local].astype(np.int32),
        count.astype(np.int32),
        np.bincount(owner, minlength=len(texts)).astype(np.int32),
        StringPack.pack(keys),
    )
