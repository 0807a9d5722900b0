"""Find the FAQ entries that answer a customer's message, with a calibrated confidence.

Evidence combined per entry:

1. nearest utterance — the best TF-IDF cosine between the message and the entry's
   question or any alternate, over the word, dictionary-synonym and kana-reading channels
   (see :mod:`faq.analyzer`);
2. BM25F over the whole entry (question, alternates and the opening of the answer,
   weighted differently), so a message that uses the answer's vocabulary still finds it;
3. rapidfuzz similarity of kana-folded strings, computed only for a shortlist;
4. optionally (:meth:`Matcher.with_semantic`), semantic evidence from a sentence encoder
   or word vectors (:mod:`faq.semantic`).

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

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz

from faq.analyzer import Analysis, TextAnalyzer
from faq.build_cache import BuildCache
from faq.entry_pack import PackedEntries, pack_entries, unpack_entries
from faq.feature_batch import CHANNELS, TextKey, channel_counts
from faq.glossary import Glossary
from faq.index import (
    FeatureTable,
    FloatArray,
    IntArray,
    PackedStrings,
    SparseIndex,
    StringPack,
    idf,
    idf_array,
)
from faq.model import FaqEntry
from faq.semantic import SemanticModels, SemanticParams, SemanticSource
from faq.synonyms import SynonymTable


@dataclass(frozen=True)
class Match:
    """An entry and the confidence (in [0, 1]) that it answers the message.

    ``outright``: for the best match, the confidence with the words of the message that
    this entry lacks counted as unknown (rather than only the words the whole FAQ lacks):
    what an answer given without asking back rests on. None: the same as ``score``."""

    entry: FaqEntry
    score: float
    outright: float | None = None

    @property
    def outright_confidence(self) -> float:
        """The confidence an answer given outright rests on."""
        return self.score if self.outright is None else self.outright


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

_BM25_CHANNELS = ("w", "s", "r")
_NOT_BM25 = CHANNELS.index("c")

# what a text of an entry is
_QUESTION, _ALTERNATE, _ANSWER = 0, 1, 2
# BM25F's fixed reference field length (~ one sentence) instead of the corpus average keeps
# an entry's vector independent of the other entries
_BM25_REFERENCE_LENGTH = 20.0


def _prefixed(analysis: Analysis, channels: Sequence[str] = CHANNELS) -> dict[str, int]:
    merged: dict[str, int] = {}
    for name, counts in channel_counts(analysis).items():
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
        cache: BuildCache | None = None,
    ) -> None:
        """Use :meth:`build`."""
        self._entries = entries
        self._analyzer = analyzer
        self._params = params
        self._synonyms = synonyms if synonyms else SynonymTable()
        self._semantic: tuple[SemanticSource, ...] = ()
        self._glossary: Glossary | None = None
        cache = cache if cache is not None else BuildCache()
        self._analyzer = cache.start(analyzer.loanwords, self._synonyms)
        try:
            self._assemble(cache)
        finally:
            cache.finish()

    def _assemble(self, cache: BuildCache) -> None:
        """Analyse every text (or take it from ``cache``) and build the index arrays."""
        p = self._params
        entries = self._entries
        n = max(len(entries), 1)
        use_chars = p.char_channel > 0
        keys: list[TextKey] = []
        text_entry: list[int] = []
        text_kind: list[int] = []
        for i, e in enumerate(entries):
            rewrite = self._synonyms.applies_to(e.locale)
            for kind, text in ((_QUESTION, e.question), *((_ALTERNATE, a) for a in e.alternates)):
                keys.append((text, rewrite, None, use_chars, True))
                text_entry.append(i)
                text_kind.append(kind)
            # answers feed BM25F only, which uses neither character n-grams nor (for speed,
            # and because answers are written in proper kanji) readings
            keys.append((e.answer, rewrite, p.answer_chars, False, p.answer_readings))
            text_entry.append(i)
            text_kind.append(_ANSWER)
        texts = cache.features(keys)

        # postings of all texts as flat arrays: feature, count, and the text they belong to
        lengths = np.fromiter((len(t.ids) for t in texts), dtype=np.int64, count=len(texts))
        cache_ids = (
            np.concatenate([t.ids for t in texts]) if texts else np.zeros(0, dtype=np.int64)
        )
        counts = np.concatenate([t.counts for t in texts]) if texts else np.zeros(0)
        entry_of_text = np.asarray(text_entry, dtype=np.int64)
        kind_of_text = np.asarray(text_kind, dtype=np.int8)
        entry_of = np.repeat(entry_of_text, lengths)
        kind_of = np.repeat(kind_of_text, lengths)

        # number this FAQ's features 0 .. V-1 (the cache's ids span every build); a
        # presence table is O(postings), where np.unique would sort or hash them all
        present = np.zeros(cache.size, dtype=bool)
        present[cache_ids] = True
        used = np.flatnonzero(present)
        # (a cold build uses every id the cache gave out: they are already 0 .. V-1)
        feature = cache_ids if len(used) == cache.size else (np.cumsum(present) - 1)[cache_ids]
        v = max(len(used), 1)  # (1 for an empty FAQ: keeps the pair keys below defined)
        channel = cache.channels(used).astype(np.int64)
        self._features: dict[str, int] = dict(
            zip(cache.names(used), range(len(used)), strict=True)
        )

        # the distinct (entry, feature) pairs, and each posting's pair: a stable argsort is
        # fast here because the keys come grouped by entry already
        pair_key = entry_of * v + feature
        order = np.argsort(pair_key, kind="stable")
        sorted_key = pair_key[order]
        first = np.ones(len(pair_key), dtype=bool)
        np.not_equal(sorted_key[1:], sorted_key[:-1], out=first[1:])
        pair = sorted_key[first]
        pair_of = np.empty(len(pair_key), dtype=np.int64)
        pair_of[order] = np.cumsum(first) - 1
        pair_feature = pair % v
        # document frequency: in how many entries each feature occurs
        df = np.bincount(pair_feature, minlength=len(used))
        self._idf: FloatArray = idf_array(df, n)
        self._unseen_idf = idf(0, n)
        self._channel_weight = {
            "w": p.word_channel,
            "s": p.synonym_channel,
            "r": p.reading_channel,
            "c": p.char_channel,
        }

        # nearest utterance: sublinear TF-IDF per question/alternate, L2-normalised per
        # channel and scaled by the channel's weight
        is_utterance = kind_of_text != _ANSWER
        u_mask = np.repeat(is_utterance, lengths)
        utterance_count = int(is_utterance.sum())
        u_doc = np.repeat(np.arange(utterance_count), lengths[is_utterance])
        u_feature = feature[u_mask]
        u_channel = channel[u_feature]
        u_weight = (1.0 + np.log(counts[u_mask])) * self._idf[u_feature]
        group = u_doc * len(CHANNELS) + u_channel
        norms = np.sqrt(np.bincount(group, weights=u_weight * u_weight))
        channel_weights = np.array([self._channel_weight[c] for c in CHANNELS])
        u_weight = u_weight * channel_weights[u_channel] / norms[group]
        self._utterances = SparseIndex(
            u_doc, u_feature, u_weight, size=utterance_count, features=len(used)
        )
        self._owners: IntArray = entry_of_text[is_utterance]
        # the kana keys of the utterances (for fuzzy re-scoring), entry by entry, in one
        # list: a list per entry would be 10,000 more objects for the garbage collector
        self._kana = [t.key for t, kind in zip(texts, text_kind, strict=True) if kind != _ANSWER]
        self._kana_start: IntArray = np.zeros(len(entries) + 1, dtype=np.int64)
        np.cumsum(np.bincount(self._owners, minlength=len(entries)), out=self._kana_start[1:])

        # BM25F over question, alternates (averaged: each is a paraphrase of the question,
        # so entries with many alternates must not win by volume) and answer
        b_mask = channel[feature] != _NOT_BM25
        if b_mask.all():  # no character n-grams: nothing to leave out
            b_entry, b_kind, b_count, b_pair = entry_of, kind_of, counts, pair_of
        else:
            b_entry, b_kind = entry_of[b_mask], kind_of[b_mask]
            b_count, b_pair = counts[b_mask], pair_of[b_mask]
        alternates = np.bincount(
            entry_of_text[kind_of_text == _ALTERNATE], minlength=len(entries)
        )
        alt_scale = 1.0 / np.sqrt(np.maximum(alternates, 1))
        b_count = np.where(b_kind == _ALTERNATE, b_count * alt_scale[b_entry], b_count)
        field = b_entry * 3 + b_kind  # (entry, field)
        field_length = np.bincount(field, weights=b_count, minlength=len(entries) * 3)
        field_norm = 1.0 - p.b + p.b * field_length / _BM25_REFERENCE_LENGTH
        field_weight = np.array([p.question_field, p.alternate_field, p.answer_field])
        contribution = field_weight[b_kind] * b_count / field_norm[field]
        tf = np.bincount(b_pair, weights=contribution, minlength=len(pair))
        # pairs of character n-grams only have tf 0, hence weight 0, and are dropped
        bm25 = self._idf[pair_feature] * (p.k1 + 1) * tf / (p.k1 + tf)
        self._bm25 = SparseIndex(
            pair // v, pair_feature, bm25, size=len(entries), features=len(used)
        )
        self._locales = np.asarray([e.locale for e in entries])

    def __getstate__(self) -> dict[str, object]:
        # Strings packed, everything else arrays: see faq.index.StringPack for why.
        state = dict(self.__dict__)
        state["_entries"] = pack_entries(self._entries)
        state["_kana"] = StringPack.pack(self._kana)
        state["_features"] = FeatureTable.pack(self._features)
        # the encoder and the glossary stay in the process that loaded them; the receiver
        # attaches its own
        state["_semantic"] = ()
        state["_glossary"] = None
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self._restore(state, ())

    @classmethod
    def restore(cls, state: dict[str, object], previous: Matcher | None = None) -> Matcher:
        """The matcher whose :meth:`__getstate__` gave ``state`` (sent by a build process),
        sharing the unchanged entries of ``previous`` (see :mod:`faq.entry_pack`)."""
        matcher = cls.__new__(cls)
        matcher._restore(state, previous.entries if previous is not None else ())
        return matcher

    def _restore(self, state: dict[str, object], previous: Sequence[FaqEntry]) -> None:
        state = dict(state)
        entries = state.pop("_entries")
        kana = state.pop("_kana")
        features = state.pop("_features")
        assert isinstance(entries, PackedEntries) and isinstance(kana, PackedStrings)
        assert isinstance(features, PackedStrings)
        self.__dict__.update(state)
        self._entries = unpack_entries(entries, previous)
        self._kana = StringPack.unpack(kana)
        self._features = FeatureTable.unpack(features)

    @classmethod
    def build(
        cls,
        entries: Sequence[FaqEntry],
        params: ScoringParams = DEFAULT_PARAMS,
        synonyms: SynonymTable | None = None,
        *,
        cache: BuildCache | None = None,
    ) -> Matcher:
        """Analyse and index ``entries``, folding the admin's ``synonyms`` (if any) in
        entries and queries. CPU-bound: run it off the event loop.

        ``cache``: pass the same one to successive builds of a FAQ (hot reloads) so that
        unchanged texts are not analysed again and the tokenizer is loaded once."""
        has_japanese = any(e.locale == "ja" for e in entries)
        return cls(
            tuple(entries), TextAnalyzer(loanwords=has_japanese), params, synonyms, cache
        )

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

    @property
    def semantic(self) -> tuple[SemanticSource, ...]:
        """The sources of semantic evidence in use (none: purely lexical)."""
        return self._semantic

    def with_semantic(self, *sources: SemanticSource) -> Matcher:
        """A copy of this matcher that also weighs the evidence of ``sources`` (built for
        the same entries): a message gets the first source that covers all its candidate
        entries, with that source's weight and confidence calibration. No sources give a
        purely lexical copy."""
        matcher = self._shallow_copy()
        matcher._semantic = sources
        return matcher

    def _shallow_copy(self) -> Matcher:
        # not copy.copy: that goes through __getstate__, which packs and unpacks every
        # entry (new objects, and time) to cross a process boundary
        matcher = type(self).__new__(type(self))
        matcher.__dict__.update(self.__dict__)
        return matcher

    def with_glossary(self, glossary: Glossary | None) -> Matcher:
        """A copy of this matcher that also reads English words of a message as the
        Japanese words ``glossary`` gives for them (:mod:`faq.glossary`), when the FAQ has
        Japanese entries; None: without."""
        matcher = self._shallow_copy()
        matcher._glossary = glossary
        return matcher

    @property
    def glossary(self) -> Glossary | None:
        """The English-to-Japanese glossary messages are read with, if any."""
        return self._glossary

    def with_models(self, models: SemanticModels, previous: Matcher | None = None) -> Matcher:
        """A copy with the semantic evidence of ``models``; what ``previous`` (the matcher
        this one replaces) computed is reused for unchanged texts. CPU-bound: run it off
        the event loop."""
        prior = previous.semantic if previous is not None else ()
        return self.with_semantic(*models.sources(self._entries, prior))

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
        translate: bool = True,
    ) -> Analysis:
        rewrite = self._synonyms.rewrite if self._synonyms.applies_to(locale) else None
        return self._analyzer.analyze(
            text,
            rewrite=rewrite,
            limit=limit,
            # the character channel is optional: without it the index is a third smaller
            chars=chars and self._params.char_channel > 0,
            readings=readings,
            glossary=self._glossary if translate else None,
        )

    def _cosine_vector(self, analysis: Analysis) -> list[tuple[int, float]]:
        """Sublinear TF-IDF of a message, L2-normalised per channel (features the FAQ does
        not have count in the norm but are left out: they match nothing)."""
        vector: list[tuple[int, float]] = []
        features = self._features
        for name, counts in channel_counts(analysis).items():
            part: list[tuple[int, float]] = []
            total = 0.0
            for f, c in counts.items():
                number = features.get(f"{name}:{f}")
                weight = (1.0 + math.log(c)) * (
                    self._unseen_idf if number is None else float(self._idf[number])
                )
                total += weight * weight
                if number is not None:
                    part.append((number, weight))
            if total == 0.0:
                continue
            scale = 1.0 / math.sqrt(total)
            vector += [(number, weight * scale) for number, weight in part]
        return vector

    def _bm25_query(self, analysis: Analysis) -> list[tuple[int, float]]:
        features = _prefixed(analysis, _BM25_CHANNELS)
        numbers = [self._features.get(f) for f in features]
        total = sum(
            self._unseen_idf if number is None else float(self._idf[number])
            for number in numbers
        ) * (self._params.k1 + 1)
        if not total:
            return []
        # normalise by the best achievable score so the feature is comparable across queries
        synonym = self._params.bm25_synonym
        return [
            (number, (synonym if f.startswith("s:") else 1.0) / total)
            for f, number in zip(features, numbers, strict=True)
            if number is not None
        ]

    def _unknown_share(self, analysis: Analysis) -> float:
        """Share of the message's words that no entry uses (1.0 for a message without
        words): a message about something the FAQ never mentions should not be answered."""
        return self._absent_share(analysis, lambda number: True)

    def _missing_share(self, analysis: Analysis, entry: int) -> float:
        """Share of the message's words (counted as in :meth:`_unknown_share`) that entry
        number ``entry`` does not contain, directly or through a glossary translation."""
        index = self._bm25
        return self._absent_share(analysis, lambda number: index.holds(number, entry))

    def _absent_share(self, analysis: Analysis, holds: Callable[[int], bool]) -> float:
        """Share of the message's counted words whose feature ``holds`` rejects (or the
        FAQ lacks), an English word counting as there when one of its glossary
        translations is; 1.0 for a message without words."""
        if not analysis.words:
            return 1.0
        # words typed in hiragana are often kanji words the tokenizer read wrongly
        # (たいかい as 大会, not 退会); the reading channel matches them, so they and other
        # guessed forms are not counted
        counted = [w for w in analysis.words if w not in analysis.guessed]
        if not counted:
            return 0.0
        features, translations = self._features, analysis.translations

        def present(word: str) -> bool:
            number = features.get(f"w:{word}")
            return number is not None and holds(number)

        return sum(
            1 for w in counted
            if not present(w) and not any(present(t) for t in translations.get(w, ()))
        ) / len(counted)  # fmt: skip

    def _fused_scores(self, analysis: Analysis) -> FloatArray:
        """Utterance and BM25 evidence for every entry (before fuzzy re-scoring)."""
        p = self._params
        per_utterance = self._utterances.scores(self._cosine_vector(analysis))
        nearest = np.zeros(len(self._entries))
        np.maximum.at(nearest, self._owners, per_utterance)
        bm25 = self._bm25.scores(self._bm25_query(analysis))
        return p.utterance_weight * nearest + p.bm25_weight * bm25

    def search(self, text: str, top_k: int = 5, locale: str | None = None) -> list[Match]:
        """The ``top_k`` best entries for ``text``, best first, with confidences.

        ``locale`` restricts the search to entries of that locale when the FAQ has any.
        """
        ranked, unknown, semantic, missing = self._ranked(text, max(top_k, 2), locale)
        if not ranked or top_k <= 0:
            return []
        best = ranked[0][1]
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        matches = [
            Match(entry, self.confidence(score, score - (runner_up if rank == 0 else best),
                                         unknown, semantic=semantic))
            for rank, (entry, score) in enumerate(ranked[:top_k])
        ]
        # A message about something this entry never mentions (商品のレビューを削除したい
        # against an entry on deleting the account) may still rank it first: it is offered
        # as a choice then, not answered outright (see _ranked for where this applies).
        if missing > unknown:
            top = matches[0]
            outright = self.confidence(best, best - runner_up, missing, semantic=semantic)
            matches[0] = Match(top.entry, top.score, min(top.score, outright))
        return matches

    def evidence(
        self, text: str, top_k: int = 5, locale: str | None = None
    ) -> list[tuple[FaqEntry, float]]:
        """Uncalibrated fused scores of the ``top_k`` best entries, best first (for
        calibration and diagnostics; :meth:`search` turns them into confidences)."""
        return self._ranked(text, top_k, locale)[0]

    def signals(self, text: str, locale: str | None = None) -> tuple[float, float, float]:
        """The inputs of the confidence of the best entry: fused score, margin over the
        runner-up, share of unknown words (for calibration, ``bench/faq_calibrate.py``)."""
        ranked, unknown, _, _ = self._ranked(text, 2, locale)
        if not ranked:
            return 0.0, 0.0, unknown
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        return ranked[0][1], ranked[0][1] - second, unknown

    def _ranked(
        self, text: str, top_k: int, locale: str | None
    ) -> tuple[list[tuple[FaqEntry, float]], float, SemanticParams | None, float]:
        """The best entries with their fused scores, the unknown-word share, the
        parameters of the semantic evidence that was part of the scores, if any, and the
        share of the message's words that the best entry lacks (for a Japanese entry; else
        the unknown-word share: English messages are wordier than the entries' examples,
        and on banking77 the check turned 66 right answers into choices to spare 3 wrong
        ones, README "How well it matches")."""
        if not self._entries or top_k <= 0:
            return [], 1.0, None, 1.0
        candidates = np.arange(len(self._entries))
        if locale is not None:
            in_locale = np.flatnonzero(self._locales == locale)
            if in_locale.size:
                candidates = in_locale
        # English is translated only for a search among Japanese entries: where the FAQ
        # answers in the message's language, translations would only dilute its words
        translate = bool((self._locales[candidates] == "ja").any())
        # a message this long is not one question; the rest would only cost time
        analysis = self._analyze(text[:MAX_QUERY_CHARS], locale, translate=translate)
        fused = self._fused_scores(analysis)
        source = next((s for s in self._semantic if s.applies(candidates)), None)
        if source is not None:
            fused = fused + source.params.weight * source.scores(text[:MAX_QUERY_CHARS])
        p = self._params
        k = min(max(p.shortlist, top_k), candidates.size)
        if k < candidates.size:
            candidates = candidates[np.argpartition(-fused[candidates], k - 1)[:k]]
        final = {
            int(i): float(fused[i]) + p.fuzz_weight * self._fuzz(analysis.key, int(i))
            for i in candidates
        }
        ranked = sorted(final, key=lambda i: (-final[i], i))[:top_k]
        unknown = self._unknown_share(analysis)
        missing = unknown
        if ranked and self._entries[ranked[0]].locale == "ja":
            missing = self._missing_share(analysis, ranked[0])
        return (
            [(self._entries[i], final[i]) for i in ranked],
            unknown,
            source.params if source is not None else None,
            missing,
        )

    def confidence(
        self, score: float, margin: float, unknown: float = 0.0, *,
        semantic: SemanticParams | None = None,
    ) -> float:
        """Calibrated probability that an entry with fused ``score``, ``margin`` ahead of
        its best competitor (negative if behind), is the right answer to a message whose
        words are an ``unknown`` share unknown to the FAQ. ``semantic``: the parameters
        of the semantic evidence in the score, whose calibration then applies."""
        p: ScoringParams | SemanticParams = semantic if semantic is not None else self._params
        z = p.bias + p.score_coef * score + p.margin_coef * margin + p.unknown_coef * unknown
        return 1.0 / (1.0 + math.exp(-z))

    def _fuzz(self, key: str, entry: int) -> float:
        start, end = self._kana_start[entry : entry + 2].tolist()
        return max(fuzz.ratio(key, k) for k in self._kana[start:end]) / 100.0

