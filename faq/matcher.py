"""Find the FAQ entries that answer a customer's message, with a calibrated confidence.

Evidence combined per entry:

1. nearest utterance — the best TF-IDF cosine between the message and the entry's
   question or any alternate, over the word, dictionary-synonym and kana-reading channels
   (see :mod:`faq.analyzer`);
2. BM25F over the whole entry (question, alternates and the opening of the answer,
   weighted differently), so a message that uses the answer's vocabulary still finds it;
3. rapidfuzz similarity of kana-folded strings, computed only for a shortlist.

The admin's business synonyms (:mod:`faq.synonyms`) are folded into entries and messages
before any of this. The fused score ranks entries; a logistic function of the fused
score, the margin to the runner-up and the share of the message's words that the FAQ never
uses turns it into a confidence in [0, 1]. The ranking weights in :class:`ScoringParams`
were tuned (``bench/faq_tune.py``) on the even rows of the sakura-mart dev set and of a
banking77 10-shot dev split; the logistic was fitted (``bench/faq_calibrate.py``) on
sakura-mart's even rows only, because banking77 has no "nothing fits" queries and would
teach the confidence to be overconfident.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz

from faq.analyzer import Analysis, TextAnalyzer
from faq.index import FeatureTable, FloatArray, SparseIndex, document_frequencies, idf
from faq.model import FaqEntry
from faq.synonyms import SynonymTable


@dataclass(frozen=True)
class Match:
    """An entry and the confidence (in [0, 1]) that it answers the message."""

    entry: FaqEntry
    score: float


@dataclass(frozen=True)
class ScoringParams:
    """Weights of the evidence and the confidence calibration."""

    # nearest-utterance cosine: weight of each channel
    word_channel: float = 0.726
    # SudachiDict synonym groups of the words (a general thesaurus)
    synonym_channel: float = 0.181
    reading_channel: float = 0.3
    # tuning preferred 0 here (readings and rapidfuzz already cover variants); at 0 the
    # character n-grams are not even computed, which keeps the index a third smaller
    char_channel: float = 0.0
    # BM25F over the whole entry
    question_field: float = 1.299
    alternate_field: float = 2.259
    answer_field: float = 3.0
    k1: float = 1.661
    b: float = 0.173
    # query weight of synonym-group features relative to words in BM25F
    bm25_synonym: float = 0.43
    # fusion of the evidence into one ranking score
    utterance_weight: float = 0.488
    bm25_weight: float = 0.78
    fuzz_weight: float = 0.411
    shortlist: int = 20
    # answers are analysed up to this many characters: their opening says what they are
    # about, and tokenizing long answers in full dominates the build time of a big FAQ
    answer_chars: int = 120
    answer_readings: bool = False
    # confidence = sigmoid(bias + score_coef * fused + margin_coef * (fused - runner_up)
    #                      + unknown_coef * share of the message's words the FAQ never uses)
    bias: float = 0.641
    score_coef: float = 0.872
    margin_coef: float = 2.161
    unknown_coef: float = -3.762


DEFAULT_PARAMS = ScoringParams()
MAX_QUERY_CHARS = 2000

_CHANNELS = ("w", "s", "r", "c")
_BM25_CHANNELS = ("w", "s", "r")


def _channels(analysis: Analysis) -> dict[str, Counter[str]]:
    return {
        "w": analysis.words,
        "s": analysis.synonyms,
        "r": analysis.readings,
        "c": analysis.chars,
    }


def _prefixed(analysis: Analysis, channels: Sequence[str] = _CHANNELS) -> dict[str, int]:
    merged: dict[str, int] = {}
    for name, counts in _channels(analysis).items():
        if name in channels:
            merged.update({f"{name}:{feature}": count for feature, count in counts.items()})
    return merged


class Matcher:
    """An immutable index over FAQ entries. Build once (CPU-bound), search many times.

    ``search`` is safe to call from several threads: the only mutable part, the SudachiPy
    tokenizer inside the analyzer, is guarded by a lock. A matcher can be pickled, so a big
    FAQ can be built in another process (see :mod:`faq.library`).
    """

    def __init__(
        self,
        entries: tuple[FaqEntry, ...],
        analyzer: TextAnalyzer,
        params: ScoringParams,
        synonyms: SynonymTable | None = None,
    ) -> None:
        """Use :meth:`build`."""
        self._entries = entries
        self._analyzer = analyzer
        self._params = params
        self._synonyms = synonyms if synonyms else SynonymTable()
        n = max(len(entries), 1)
        analysed = [
            (
                self._analyze(e.question, e.locale),
                [self._analyze(a, e.locale) for a in e.alternates],
                # answers feed BM25F only, which uses neither character n-grams nor (for
                # speed, and because answers are written in proper kanji) readings
                self._analyze(
                    e.answer,
                    e.locale,
                    limit=params.answer_chars,
                    chars=False,
                    readings=params.answer_readings,
                ),
            )
            for e in entries
        ]
        groups = []
        for question, alternates, answer in analysed:
            group = set(_prefixed(question))
            for alt in alternates:
                group.update(_prefixed(alt))
            group.update(_prefixed(answer))
            groups.append(group)
        df = document_frequencies(groups)
        self._idf: dict[str, float] = {f: idf(d, n) for f, d in df.items()}
        self._unseen_idf = idf(0, n)
        self._channel_weight = {
            "w": params.word_channel,
            "s": params.synonym_channel,
            "r": params.reading_channel,
            "c": params.char_channel,
        }

        utterances: list[dict[str, float]] = []
        owners: list[int] = []
        keys: list[list[str]] = []
        for i, (question, alternates, _) in enumerate(analysed):
            entry_keys = []
            for a in (question, *alternates):
                utterances.append(self._cosine_vector(a, weighted=True))
                owners.append(i)
                entry_keys.append(a.key)
            keys.append(entry_keys)
        self._utterances = SparseIndex(utterances)
        self._owners = np.asarray(owners, dtype=np.int64)
        self._keys = keys
        self._bm25 = SparseIndex([self._bm25_vector(*a) for a in analysed])
        self._locales = np.asarray([e.locale for e in entries])

    def __getstate__(self) -> dict[str, object]:
        # Flat containers of strings and arrays: see faq.index.FeatureTable for why.
        state = dict(self.__dict__)
        state["_entries"] = [dataclasses.astuple(e) for e in self._entries]
        state["_idf"] = FeatureTable.pack(self._idf)
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        entries = state.pop("_entries")
        idf_table = state.pop("_idf")
        assert isinstance(entries, list) and isinstance(idf_table, tuple)
        self.__dict__.update(state)
        self._entries = tuple(FaqEntry(*fields) for fields in entries)
        self._idf = FeatureTable.unpack(idf_table)

    @classmethod
    def build(
        cls,
        entries: Sequence[FaqEntry],
        params: ScoringParams = DEFAULT_PARAMS,
        synonyms: SynonymTable | None = None,
    ) -> Matcher:
        """Analyse and index ``entries``, folding the admin's ``synonyms`` (if any) in
        entries and queries. CPU-bound: run it off the event loop."""
        has_japanese = any(e.locale == "ja" for e in entries)
        return cls(tuple(entries), TextAnalyzer(loanwords=has_japanese), params, synonyms)

    @property
    def entries(self) -> tuple[FaqEntry, ...]:
        """The indexed entries, in load order."""
        return self._entries

    @property
    def synonyms(self) -> SynonymTable:
        """The admin's synonym groups folded into entries and queries."""
        return self._synonyms

    def reuse_analyzer(self, other: Matcher) -> None:
        """Use ``other``'s analyzer (its loaded tokenizer and cache) if it is configured the
        same way: a hot-reloaded matcher then neither reloads the dictionary nor
        re-tokenizes unchanged text on its first searches. Call before publishing."""
        if other._analyzer.loanwords == self._analyzer.loanwords:
            self._analyzer = other._analyzer

    def warm_up(self) -> None:
        """Load the tokenizer now (a matcher built in another process arrives without it)."""
        self._analyzer.warm_up()

    def _analyze(
        self,
        text: str,
        locale: str | None,
        *,
        limit: int | None = None,
        chars: bool = True,
        readings: bool = True,
    ) -> Analysis:
        rewrite = self._synonyms.rewrite if self._synonyms.applies_to(locale) else None
        return self._analyzer.analyze(
            text,
            rewrite=rewrite,
            limit=limit,
            # the character channel is optional: without it the index is a third smaller
            chars=chars and self._params.char_channel > 0,
            readings=readings,
        )

    def _cosine_vector(self, analysis: Analysis, *, weighted: bool) -> dict[str, float]:
        """Sublinear TF-IDF, L2-normalised per channel; documents carry the channel weight."""
        vector: dict[str, float] = {}
        for name, counts in _channels(analysis).items():
            part = {
                f"{name}:{f}": (1.0 + math.log(c)) * self._idf.get(f"{name}:{f}", self._unseen_idf)
                for f, c in counts.items()
            }
            norm = math.sqrt(sum(v * v for v in part.values()))
            if norm == 0.0:
                continue
            scale = (self._channel_weight[name] if weighted else 1.0) / norm
            vector.update({f: v * scale for f, v in part.items()})
        return vector

    def _bm25_vector(
        self, question: Analysis, alternates: list[Analysis], answer: Analysis
    ) -> dict[str, float]:
        p = self._params
        fields: list[tuple[float, Mapping[str, float]]] = [
            (p.question_field, _prefixed(question, _BM25_CHANNELS)),
            (p.answer_field, _prefixed(answer, _BM25_CHANNELS)),
        ]
        # each alternate is a paraphrase of the question: average, don't add up, so that
        # entries with many alternates do not win by volume
        alt_counts: Counter[str] = Counter()
        for alt in alternates:
            alt_counts.update(_prefixed(alt, _BM25_CHANNELS))
        if alternates:
            scale = 1.0 / math.sqrt(len(alternates))
            fields.append((p.alternate_field, {f: c * scale for f, c in alt_counts.items()}))
        tf: dict[str, float] = {}
        for weight, counts in fields:
            length = sum(counts.values())
            # a fixed reference length (~ one sentence) instead of the corpus average keeps
            # an entry's vector independent of the other entries
            norm = 1.0 - p.b + p.b * length / 20.0
            for f, c in counts.items():
                tf[f] = tf.get(f, 0.0) + weight * c / norm
        return {f: self._idf[f] * (p.k1 + 1) * t / (p.k1 + t) for f, t in tf.items()}

    def _bm25_query(self, analysis: Analysis) -> dict[str, float]:
        features = _prefixed(analysis, _BM25_CHANNELS)
        total = sum(self._idf.get(f, self._unseen_idf) for f in features) * (self._params.k1 + 1)
        if not total:
            return {}
        # normalise by the best achievable score so the feature is comparable across queries
        synonym = self._params.bm25_synonym
        return {f: (synonym if f.startswith("s:") else 1.0) / total for f in features}

    def _unknown_share(self, analysis: Analysis) -> float:
        """Share of the message's words that no entry uses (1.0 for a message without
        words): a message about something the FAQ never mentions should not be answered."""
        words = analysis.words
        if not words:
            return 1.0
        # words typed in hiragana are often kanji words the tokenizer read wrongly
        # (たいかい as 大会, not 退会); the reading channel matches them, so they and other
        # guessed forms are not counted
        counted = [w for w in words if w not in analysis.guessed]
        if not counted:
            return 0.0
        return sum(1 for w in counted if f"w:{w}" not in self._idf) / len(counted)

    def _fused_scores(self, analysis: Analysis) -> FloatArray:
        """Utterance and BM25 evidence for every entry (before fuzzy re-scoring)."""
        p = self._params
        per_utterance = self._utterances.scores(self._cosine_vector(analysis, weighted=False))
        nearest = np.zeros(len(self._entries))
        np.maximum.at(nearest, self._owners, per_utterance)
        bm25 = self._bm25.scores(self._bm25_query(analysis))
        return p.utterance_weight * nearest + p.bm25_weight * bm25

    def search(self, text: str, top_k: int = 5, locale: str | None = None) -> list[Match]:
        """The ``top_k`` best entries for ``text``, best first, with confidences.

        ``locale`` restricts the search to entries of that locale when the FAQ has any.
        """
        ranked, unknown = self._ranked(text, max(top_k, 2), locale)
        if not ranked or top_k <= 0:
            return []
        best = ranked[0][1]
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        return [
            Match(entry, self.confidence(score, score - (runner_up if rank == 0 else best),
                                         unknown))
            for rank, (entry, score) in enumerate(ranked[:top_k])
        ]

    def evidence(
        self, text: str, top_k: int = 5, locale: str | None = None
    ) -> list[tuple[FaqEntry, float]]:
        """Uncalibrated fused scores of the ``top_k`` best entries, best first (for
        calibration and diagnostics; :meth:`search` turns them into confidences)."""
        return self._ranked(text, top_k, locale)[0]

    def signals(self, text: str, locale: str | None = None) -> tuple[float, float, float]:
        """The inputs of the confidence of the best entry: fused score, margin over the
        runner-up, share of unknown words (for calibration, ``bench/faq_calibrate.py``)."""
        ranked, unknown = self._ranked(text, 2, locale)
        if not ranked:
            return 0.0, 0.0, unknown
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        return ranked[0][1], ranked[0][1] - second, unknown

    def _ranked(
        self, text: str, top_k: int, locale: str | None
    ) -> tuple[list[tuple[FaqEntry, float]], float]:
        if not self._entries or top_k <= 0:
            return [], 1.0
        # a message this long is not one question; the rest would only cost time
        analysis = self._analyze(text[:MAX_QUERY_CHARS], locale)
        fused = self._fused_scores(analysis)
        candidates = np.arange(len(self._entries))
        if locale is not None:
            in_locale = np.flatnonzero(self._locales == locale)
            if in_locale.size:
                candidates = in_locale
        p = self._params
        k = min(max(p.shortlist, top_k), candidates.size)
        if k < candidates.size:
            candidates = candidates[np.argpartition(-fused[candidates], k - 1)[:k]]
        final = {
            int(i): float(fused[i]) + p.fuzz_weight * self._fuzz(analysis.key, int(i))
            for i in candidates
        }
        ranked = sorted(final, key=lambda i: (-final[i], i))[:top_k]
        return [(self._entries[i], final[i]) for i in ranked], self._unknown_share(analysis)

    def confidence(self, score: float, margin: float, unknown: float = 0.0) -> float:
        """Calibrated probability that an entry with fused ``score``, ``margin`` ahead of
        its best competitor (negative if behind), is the right answer to a message whose
        words are an ``unknown`` share unknown to the FAQ."""
        p = self._params
        z = p.bias + p.score_coef * score + p.margin_coef * margin + p.unknown_coef * unknown
        return 1.0 / (1.0 + math.exp(-z))

    def _fuzz(self, key: str, entry: int) -> float:
        return max(fuzz.ratio(key, k) for k in self._keys[entry]) / 100.0

