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
from faq.index import Packed, StringPack
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

    names: Packed
    features: Int32Array
    counts: Int32Array
    sizes: Int32Array
    keys: Packed

    def __len__(self) -> int:
        return len(self.sizes)


class _LocalNumbering(dict[str, int]):
    """``feature -> local number`` of one channel that numbers a feature the first time it
    is looked up, so that a whole counter converts with one ``map`` (a C loop)."""

    def __init__(self, names: list[str], prefix: str) -> None:
        super().__init__()
        self._names = names
        self._prefix = prefix

    def __missing__(self, feature: str) -> int:
        number = self[feature] = len(self._names)
        self._names.append(self._prefix + feature)
        return number


def analyze_batch(
    analyzer: TextAnalyzer, synonyms: SynonymTable, texts: Sequence[TextKey]
) -> FeatureBatch:
    """Analyse ``texts`` with ``analyzer`` (folding ``synonyms`` where a key asks for it)."""
    names: list[str] = []
    numbering = {channel: _LocalNumbering(names, f"{channel}:") for channel in CHANNELS}
    # lists, not arrays: extending a list from an iterator is a C loop, an array's is not
    features: list[int] = []
    counts: list[int] = []
    sizes: list[int] = []
    keys: list[str] = []
    for text, rewrite, limit, chars, readings in texts:
        analysis = analyzer.analyze(
            text,
            rewrite=synonyms.rewrite if rewrite else None,
            limit=limit,
            chars=chars,
            readings=readings,
        )
        size = 0
        for channel, counter in channel_counts(analysis).items():
            if counter:
                features += map(numbering[channel].__getitem__, counter)
                counts += counter.values()
                size += len(counter)
        sizes.append(size)
        keys.append(analysis.key)
    return FeatureBatch(
        StringPack.pack(names),
        np.array(features, dtype=np.int32),
        np.array(counts, dtype=np.int32),
        np.array(sizes, dtype=np.int32),
        StringPack.pack(keys),
    )
