"""What one index build hands to the next: the analyzer and every text's features.

A hot reload after an edit then analyses only the texts that changed; the index arrays are
re-assembled in full (IDF depends on every entry), which numpy does fast. Texts missing
from the cache are analysed in one batch (:mod:`faq.feature_batch`); a big batch, as in a
cold build, is shared between this thread and helper processes
(:mod:`faq.analysis_pool`) when the cache is allowed more than one process.
"""

from __future__ import annotations

from array import array
from collections.abc import Generator, Sequence
from contextlib import closing
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from faq.analysis_pool import analyze_in_parallel
from faq.analyzer import TextAnalyzer
from faq.feature_batch import CHANNELS, FeatureBatch, TextKey, analyze_batch
from faq.index import FloatArray, IntArray, StringPack
from faq.synonyms import SynonymTable

_CHANNEL_NUMBER = {name: number for number, name in enumerate(CHANNELS)}
# Fewer texts than this are analysed in this thread alone: starting a helper process costs
# about as much as analysing a few hundred texts.
PARALLEL_MIN_TEXTS = 2000


@dataclass(frozen=True)
class TextFeatures:
    """One analysed text as feature ids (of a :class:`BuildCache`) and counts."""

    ids: IntArray
    counts: FloatArray
    key: str  # kana_key, for fuzzy comparison


class _Numbering(dict[str, int]):
    """``feature name -> id`` that numbers a name the first time it is looked up (and
    notes its channel, the name's first letter), so that a batch's names convert with one
    ``map`` (a C loop) instead of a Python loop."""

    def __init__(self, names: list[str], channels: array[int]) -> None:
        super().__init__()
        self._names = names
        self._channels = channels

    def __missing__(self, name: str) -> int:
        number = self[name] = len(self._names)
        self._names.append(name)
        self._channels.append(_CHANNEL_NUMBER[name[0]])
        return number


class BuildCache:
    """The analyzer (its tokenizer stays loaded) and the features of every text of the
    latest build, keyed by the text and how it was analysed.

    Features are kept as id arrays, not counters, so that a 10,000-entry FAQ costs tens of
    megabytes. The cache starts over when the synonyms or the analyzer configuration change
    (they change every analysis). Not thread-safe: one build at a time.
    """

    # ids are never reused; past this many (after many edits) the cache starts over
    _MAX_FEATURES = 2_000_000

    def __init__(self, processes: int = 1, parallel_min_texts: int = PARALLEL_MIN_TEXTS) -> None:
        """``processes``: how many processes may analyse a big batch of texts (this one
        and ``processes - 1`` helpers); batches under ``parallel_min_texts`` texts are
        analysed here alone."""
        self._processes = processes
        self._parallel_min_texts = parallel_min_texts
        self._config: tuple[object, ...] | None = None
        self._analyzer: TextAnalyzer | None = None
        self._synonyms = SynonymTable()
        self._texts: dict[TextKey, TextFeatures] = {}
        self._used: dict[TextKey, TextFeatures] = {}
        self._names: list[str] = []
        self._channels: array[int] = array("b")
        self._numbering = _Numbering(self._names, self._channels)
        self.hits = 0
        self.misses = 0

    def start(self, loanwords: bool, synonyms: SynonymTable) -> TextAnalyzer:
        """Begin a build; the analyzer the build's matcher is to search with."""
        config = (loanwords, synonyms.groups, synonyms.locale)
        if config != self._config or len(self._names) > self._MAX_FEATURES:
            # the analyzer (tokenizer and its morpheme cache) survives a synonym change;
            # only a different loanword setting needs a new one
            if self._analyzer is None or self._analyzer.loanwords != loanwords:
                self._analyzer = TextAnalyzer(loanwords=loanwords)
            self._config = config
            self._texts = {}
            self._names = []
            self._channels = array("b")
            self._numbering = _Numbering(self._names, self._channels)
        self._synonyms = synonyms
        self._used = {}
        self.hits = self.misses = 0
        assert self._analyzer is not None
        return self._analyzer

    def finish(self) -> None:
        """End a build: keep what it used, so texts removed from the FAQ are forgotten."""
        self._texts = self._used
        self._used = {}

    def features(self, keys: Sequence[TextKey]) -> list[TextFeatures]:
        """The features of each text, analysing those not cached (each distinct one once)."""
        texts = self._texts
        missing = [key for key in dict.fromkeys(keys) if key not in texts]
        # closed at once if absorbing fails, so that helper processes stop
        with closing(self._analyse(missing)) as batches:
            for batch_keys, batch in batches:
                self._absorb(batch_keys, batch)
        found = [texts[key] for key in keys]
        self._used.update(zip(keys, found, strict=True))
        self.misses = len(missing)
        self.hits = len(keys) - len(missing)
        return found

    def _analyse(
        self, keys: list[TextKey]
    ) -> Generator[tuple[Sequence[TextKey], FeatureBatch], None, None]:
        if not keys:
            return
        assert self._analyzer is not None
        if self._processes > 1 and len(keys) >= self._parallel_min_texts:
            yield from analyze_in_parallel(self._analyzer, self._synonyms, keys, self._processes)
        else:
            yield keys, analyze_batch(self._analyzer, self._synonyms, keys)

    def _absorb(self, keys: Sequence[TextKey], batch: FeatureBatch) -> None:
        """Number the batch's features (new names get the next ids, in the batch's order:
        the same ids as analysing text by text) and cache each text's features."""
        names = StringPack.unpack(batch.names)
        table = np.fromiter(map(self._numbering.__getitem__, names), np.int64, len(names))
        ids = table[batch.features]
        counts = batch.counts.astype(np.float64)
        ends = np.cumsum(batch.sizes).tolist()
        starts = [0, *ends[:-1]] if ends else []
        texts = self._texts
        for key, start, end, kana in zip(
            keys, starts, ends, StringPack.unpack(batch.keys), strict=True
        ):
            texts[key] = TextFeatures(ids[start:end], counts[start:end], kana)

    @property
    def size(self) -> int:
        """How many feature ids have been given out."""
        return len(self._names)

    def names(self, ids: IntArray) -> list[str]:
        """The feature name (``w:送料``) of each id."""
        names = self._names
        return [names[i] for i in ids.tolist()]

    def channels(self, ids: IntArray) -> npt.NDArray[np.int8]:
        """The channel number (index in :data:`faq.feature_batch.CHANNELS`) of each id."""
        return np.frombuffer(self._channels, dtype=np.int8)[ids]
