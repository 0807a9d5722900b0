"""Find the FAQ entries that answer a customer's message, with a calibrated confidence.

Evidence combined per entry:

1. nearest utterance — the best TF-IDF cosine between the message and the entry's
   question or any alternate, over three channels (words, kana-reading n-grams,
   character n-grams; see :mod:`faq.analyzer`);
2. BM25F over the whole entry (question, alternates and answer, weighted differently), so
   a message that uses the answer's vocabulary still finds it;
3. rapidfuzz similarity of kana-folded strings, computed only for a shortlist.

The fused score ranks entries; a logistic function of the fused score and the margin to
the runner-up turns it into a confidence in [0, 1]. The ranking weights in
:class:`ScoringParams` were tuned (``bench/faq_tune.py``) on the even rows of the
sakura-mart dev set and of a banking77 10-shot dev split; the logistic was fitted
(``bench/faq_calibrate.py``) on sakura-mart's even rows only, because banking77 has no
"nothing fits" queries and would teach the confidence to be overconfident.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz

from faq.analyzer import Analysis, TextAnalyzer
from faq.index import FloatArray, SparseIndex, document_frequencies, idf
from faq.model import FaqEntry


@dataclass(frozen=True)
class Match:
    """An entry and the confidence (in [0, 1]) that it answers the message."""

    entry: FaqEntry
    score: float


@dataclass(frozen=True)
class ScoringParams:
    """Weights of the evidence and the confidence calibration."""

    # nearest-utterance cosine: weight of each channel
    word_channel: float = 0.919
    reading_channel: float = 0.319
    # tuning preferred 0 here (readings and rapidfuzz already cover variants); a little is
    # kept for typos in words the tokenizer splits differently
    char_channel: float = 0.05
    # BM25F over the whole entry
    question_field: float = 0.5
    alternate_field: float = 1.823
    answer_field: float = 2.578
    k1: float = 1.374
    b: float = 0.4
    # fusion of the evidence into one ranking score
    utterance_weight: float = 0.558
    bm25_weight: float = 0.797
    fuzz_weight: float = 0.234
    shortlist: int = 20
    # confidence = sigmoid(bias + score_coef * fused + margin_coef * (fused - runner_up))
    bias: float = -1.81
    score_coef: float = 4.807
    margin_coef: float = 0.771


DEFAULT_PARAMS = ScoringParams()

_CHANNELS = ("w", "r", "c")


def _channels(analysis: Analysis) -> dict[str, Counter[str]]:
    return {"w": analysis.words, "r": analysis.readings, "c": analysis.chars}


def _prefixed(analysis: Analysis, channels: Sequence[str] = _CHANNELS) -> Counter[str]:
    merged: Counter[str] = Counter()
    for name, counts in _channels(analysis).items():
        if name in channels:
            for feature, count in counts.items():
                merged[f"{name}:{feature}"] += count
    return merged


class Matcher:
    """An immutable index over FAQ entries. Build once (CPU-bound), search many times.

    ``search`` is safe to call from several threads: the only mutable part, the SudachiPy
    tokenizer inside the analyzer, is guarded by a lock.
    """

    def __init__(
        self,
        entries: tuple[FaqEntry, ...],
        analyzer: TextAnalyzer,
        params: ScoringParams,
    ) -> None:
        """Use :meth:`build`."""
        self._entries = entries
        self._analyzer = analyzer
        self._params = params
        n = max(len(entries), 1)
        analysed = [
            (
                analyzer.analyze(e.question),
                [analyzer.analyze(a) for a in e.alternates],
                analyzer.analyze(e.answer),
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

    @classmethod
    def build(cls, entries: Sequence[FaqEntry], params: ScoringParams = DEFAULT_PARAMS) -> Matcher:
        """Analyse and index ``entries``. CPU-bound: run it in a thread from async code."""
        has_japanese = any(e.locale == "ja" for e in entries)
        return cls(tuple(entries), TextAnalyzer(loanwords=has_japanese), params)

    @property
    def entries(self) -> tuple[FaqEntry, ...]:
        """The indexed entries, in load order."""
        return self._entries

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
        fields: list[tuple[float, Counter[str]]] = [
            (p.question_field, _prefixed(question, ("w", "r"))),
            (p.answer_field, _prefixed(answer, ("w", "r"))),
        ]
        # each alternate is a paraphrase of the question: average, don't add up, so that
        # entries with many alternates do not win by volume
        alt_counts: Counter[str] = Counter()
        for alt in alternates:
            alt_counts.update(_prefixed(alt, ("w", "r")))
        if alternates:
            scale = 1.0 / math.sqrt(len(alternates))
            alt_scaled = Counter({f: c * scale for f, c in alt_counts.items()})
            fields.append((p.alternate_field, alt_scaled))
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
        features = _prefixed(analysis, ("w", "r"))
        weights = {f: self._idf.get(f, self._unseen_idf) for f in features}
        total = sum(weights.values()) * (self._params.k1 + 1)
        # normalise by the best achievable score so the feature is comparable across queries
        return {f: 1.0 / total for f in weights} if total else {}

    def _fused_scores(self, text: str) -> tuple[FloatArray, Analysis]:
        """Utterance and BM25 evidence for every entry (before fuzzy re-scoring)."""
        analysis = self._analyzer.analyze(text)
        p = self._params
        per_utterance = self._utterances.scores(self._cosine_vector(analysis, weighted=False))
        nearest = np.zeros(len(self._entries))
        np.maximum.at(nearest, self._owners, per_utterance)
        bm25 = self._bm25.scores(self._bm25_query(analysis))
        return p.utterance_weight * nearest + p.bm25_weight * bm25, analysis

    def search(self, text: str, top_k: int = 5, locale: str | None = None) -> list[Match]:
        """The ``top_k`` best entries for ``text``, best first, with confidences.

        ``locale`` restricts the search to entries of that locale when the FAQ has any.
        """
        ranked = self.evidence(text, max(top_k, 2), locale)
        if not ranked or top_k <= 0:
            return []
        best = ranked[0][1]
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        return [
            Match(entry, self.confidence(score, score - (runner_up if rank == 0 else best)))
            for rank, (entry, score) in enumerate(ranked[:top_k])
        ]

    def evidence(
        self, text: str, top_k: int = 5, locale: str | None = None
    ) -> list[tuple[FaqEntry, float]]:
        """Uncalibrated fused scores of the ``top_k`` best entries, best first (for
        calibration and diagnostics; :meth:`search` turns them into confidences)."""
        if not self._entries or top_k <= 0:
            return []
        fused, analysis = self._fused_scores(text)
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
        return [(self._entries[i], final[i]) for i in ranked]

    def confidence(self, score: float, margin: float) -> float:
        """Calibrated probability that an entry with fused ``score``, ``margin`` ahead of
        its best competitor (negative if behind), is the right answer."""
        p = self._params
        z = p.bias + p.score_coef * score + p.margin_coef * margin
        return 1.0 / (1.0 + math.exp(-z))

    def _fuzz(self, key: str, entry: int) -> float:
        return max(fuzz.ratio(key, k) for k in self._keys[entry]) / 100.0
