"""Semantic evidence for the matcher, from opt-in models, one per language.

* :class:`SemanticEvidence` (``HELPDESK_FAQ_ENCODER``): sentence vectors of every question
  and alternate. A sentence encoder finds paraphrases that share no words with the FAQ
  ("my card hasn't shown up" for "When will my card arrive?").
* :class:`WordVectorEvidence` (``HELPDESK_FAQ_WORD_VECTORS``): Japanese "soft" word
  matching. Each content word of the message is matched to its nearest word (by word
  vector) in the entry's question, alternates and answer; the IDF-weighted mean of those
  similarities is the evidence (アメリカ finds 海外, レシート finds 領収書).
* :class:`BlendedEvidence`: both of the above for the locales they share, in equal parts,
  when the encoder is the multilingual one (its sentence vectors and the word vectors
  miss different paraphrases).

Each covers the entries of its locales, and the matcher uses a source only for a message
whose candidate entries it all covers (see :meth:`faq.matcher.Matcher.with_semantic`).
What was computed per text is kept, so a hot reload redoes only new or edited texts.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, Self

import numpy as np

from faq.encoder import MULTILINGUAL_PACKAGE, Float32Array, TextEncoder, load_encoder
from faq.model import FaqEntry
from faq.vector_cache import VectorCache, text_digest
from faq.word_vectors import WordVectors, idf_weights, resolve_vectors_dir, unseen_idf

WORD_VECTOR_LOCALES = frozenset({"ja"})


@dataclass(frozen=True)
class SemanticParams:
    """Weight of a source's semantic evidence in the fused score, and the confidence
    calibration that replaces :class:`faq.matcher.ScoringParams`' when it is used (the
    fused score then has another scale). The defaults are the sentence encoder's."""

    weight: float = 2.0
    bias: float = -4.624
    score_coef: float = 2.037
    margin_coef: float = 2.493
    # words the FAQ never uses are what the encoder bridges: no penalty for them here
    unknown_coef: float = 0.0


# Tuned and fitted by bench/faq_semantic.py on the even rows of banking77 10-shot sets.
DEFAULT_SEMANTIC_PARAMS = SemanticParams()
# Tuned and fitted by bench/faq_semantic.py on the even rows of the sakura-mart dev set.
DEFAULT_WORD_VECTOR_PARAMS = SemanticParams(
    weight=1.25, bias=-1.217, score_coef=0.837, margin_coef=3.476, unknown_coef=-2.39
)
# Tuned and fitted by bench/faq_semantic.py on the even open rows of sakura-mart (the
# sealed rows of bench/faq_domains.py left out); hikari-mobile was not used.
MULTILINGUAL_PARAMS = SemanticParams(
    weight=1.0, bias=-0.732, score_coef=1.381, margin_coef=4.098, unknown_coef=-1.791
)
BLENDED_PARAMS = SemanticParams(
    weight=1.5, bias=-1.424, score_coef=1.724, margin_coef=2.871, unknown_coef=-1.467
)
# the fitted parameters of each packaged encoder (a model directory gets the defaults)
ENCODER_PARAMS = {MULTILINGUAL_PACKAGE: MULTILINGUAL_PARAMS}
# encoders whose evidence is blended with the word vectors' where both apply
BLENDED_ENCODERS = {MULTILINGUAL_PACKAGE: BLENDED_PARAMS}


class SemanticSource(Protocol):
    """What the matcher needs of a source of semantic evidence."""

    params: SemanticParams
    encoded: int

    def applies(self, candidates: np.ndarray) -> bool:
        """Whether every candidate entry is covered."""

    def scores(self, text: str) -> Float32Array:
        """Per entry, the evidence that it answers ``text`` (0 where not covered)."""

    def with_params(self, params: SemanticParams) -> SemanticSource:
        """The same source with other weights (for tuning)."""


class _CoveredEntries:
    """What both sources share: their parameters and which entries they cover."""

    def __init__(
        self, entries: Sequence[FaqEntry], locales: frozenset[str], params: SemanticParams
    ) -> None:
        self.locales = locales
        self.params = params
        self.covered = np.fromiter(
            (e.locale in locales for e in entries), dtype=bool, count=len(entries)
        )

    def with_params(self, params: SemanticParams) -> Self:
        """The same evidence with other weights (for tuning)."""
        evidence = copy.copy(self)
        evidence.params = params
        return evidence

    def applies(self, candidates: np.ndarray) -> bool:
        """Whether every candidate entry is covered (mixing covered and uncovered entries
        in one ranking would favour the covered ones)."""
        return bool(candidates.size) and bool(self.covered[candidates].all())


class SemanticEvidence(_CoveredEntries):
    """Unit vectors of the utterances of the covered entries, and their owners."""

    def __init__(
        self,
        entries: Sequence[FaqEntry],
        encoder: TextEncoder,
        locales: frozenset[str] | None = None,
        params: SemanticParams | None = None,
        previous: SemanticEvidence | None = None,
        cache: VectorCache | None = None,
    ) -> None:
        """Encode the questions and alternates of ``entries`` in ``locales``; texts that
        ``previous`` (the evidence of the last build, same encoder) has are reused, and
        those ``cache`` holds are read from disk, which is then updated. ``locales`` and
        ``params`` default to the encoder's own. CPU-bound (NumPy): run it off the event
        loop."""
        super().__init__(
            entries, encoder.locales if locales is None else locales,
            ENCODER_PARAMS.get(encoder.name, DEFAULT_SEMANTIC_PARAMS) if params is None
            else params,
        )
        self.encoder = encoder
        texts: list[str] = []
        owners: list[int] = []
        for i, entry in enumerate(entries):
            if self.covered[i]:
                for text in (entry.question, *entry.alternates):
                    texts.append(text)
                    owners.append(i)
        prior = previous if previous is not None and previous.encoder is encoder else None
        # where each text's vector is: a row of the previous matrix, or (after those) of
        # the vectors found now; plain ints, so a reload makes few Python objects
        old_row: dict[str, int] = prior.row_of_text if prior is not None else {}
        missing = sorted({t for t in texts if t not in old_row})
        base = len(prior._vectors) if prior is not None else 0
        new_row = {t: base + j for j, t in enumerate(missing)}
        rows = np.fromiter(
            (old_row[t] if t in old_row else new_row[t] for t in texts),
            dtype=np.int64, count=len(texts),
        )
        pool, self.encoded = self._vectors_of(missing, encoder, cache)
        if prior is not None:
            pool = np.concatenate([prior._vectors, pool])
        self._vectors: Float32Array = pool[rows]
        self.row_of_text: dict[str, int] = {t: i for i, t in enumerate(texts)}
        self._owners = np.asarray(owners, dtype=np.int64)
        self._size = len(entries)
        if cache is not None and self.encoded:
            # what the disk holds for this model: the vectors of the FAQ as it is now
            current = sorted(self.row_of_text)
            cache.save(
                encoder.fingerprint,
                [text_digest(t) for t in current],
                self._vectors[[self.row_of_text[t] for t in current]],
            )

    @staticmethod
    def _vectors_of(
        texts: list[str], encoder: TextEncoder, cache: VectorCache | None
    ) -> tuple[Float32Array, int]:
        """Vectors of ``texts``, from the disk cache where it has them, and how many had
        to be encoded."""
        if cache is None or not texts:
            return encoder.encode(texts), len(texts)
        stored = cache.load(encoder.fingerprint, encoder.dimensions)
        digests = [text_digest(t) for t in texts]
        unknown = [i for i, d in enumerate(digests) if d not in stored]
        vectors = np.empty((len(texts), encoder.dimensions), dtype=np.float32)
        known = [i for i, d in enumerate(digests) if d in stored]
        if known:
            vectors[known] = np.stack([stored[digests[i]] for i in known])
        if unknown:
            vectors[unknown] = encoder.encode([texts[i] for i in unknown])
        return vectors, len(unknown)

    def scores(self, text: str) -> Float32Array:
        """Per entry, the best cosine between ``text`` and its utterances (0 for entries
        not covered)."""
        nearest = np.zeros(self._size, dtype=np.float32)
        if not len(self._owners):
            return nearest
        query = self.encoder.encode([text])[0]
        np.maximum.at(nearest, self._owners, self._vectors @ query)
        return nearest


class WordVectorEvidence(_CoveredEntries):
    """The content words (as word-vector rows) of each covered entry's question,
    alternates and answer, for soft word matching."""

    def __init__(
        self,
        entries: Sequence[FaqEntry],
        vectors: WordVectors,
        locales: frozenset[str] = WORD_VECTOR_LOCALES,
        params: SemanticParams = DEFAULT_WORD_VECTOR_PARAMS,
        previous: WordVectorEvidence | None = None,
    ) -> None:
        """Tokenize the covered entries' texts (those ``previous``, built with the same
        vectors, has are reused). CPU-bound: run it off the event loop."""
        super().__init__(entries, locales, params)
        self.vectors = vectors
        # Rows are kept as bytes of int32 and gathered into arrays: a hot reload of a big
        # FAQ then makes few Python objects, so it does not set off a full garbage
        # collection that would hold the event loop (see faq.library).
        known = previous.rows_by_text if (
            previous is not None and previous.vectors is vectors
        ) else {}
        self.encoded = 0
        self.rows_by_text: dict[str, bytes] = {}
        chunks: list[bytes] = []
        text_entry: list[int] = []
        for i, entry in enumerate(entries):
            if not self.covered[i]:
                continue
            for text in (entry.question, *entry.alternates, entry.answer):
                found = known.get(text)
                if found is None:
                    found = np.asarray(vectors.words(text), dtype=np.int32).tobytes()
                    self.encoded += 1
                self.rows_by_text[text] = found
                chunks.append(found)
                text_entry.append(i)
        self._size = len(entries)
        lengths = np.fromiter((len(c) // 4 for c in chunks), dtype=np.int64, count=len(chunks))
        rows = np.frombuffer(b"".join(chunks), dtype=np.int32).astype(np.int64)
        # the distinct (entry, row) pairs, grouped by entry; then the FAQ's distinct rows
        # (its vocabulary) and each pair's column in it
        table = max(int(rows.max()) + 1, 1) if rows.size else 1
        pairs = np.unique(np.repeat(np.asarray(text_entry, dtype=np.int64), lengths) * table
                          + rows)
        pair_entry = pairs // table
        self._vocabulary, self._pair_columns = np.unique(pairs % table, return_inverse=True)
        self._matrix: Float32Array = (
            vectors.vectors(self._vocabulary.tolist()) if self._vocabulary.size
            else np.zeros((0, vectors.dimensions), dtype=np.float32)
        )
        per_entry = np.bincount(pair_entry, minlength=len(entries))
        self._with_words = np.flatnonzero(per_entry)
        self._starts = (np.cumsum(per_entry) - per_entry)[self._with_words]
        document_frequency = np.bincount(self._pair_columns, minlength=self._vocabulary.size)
        self._idf = idf_weights(document_frequency, len(entries))
        self._unseen_idf = unseen_idf(len(entries))

    def scores(self, text: str) -> Float32Array:
        """Per entry, the IDF-weighted mean over the message's distinct content words of
        the best cosine with any word of the entry (0 for entries not covered)."""
        result = np.zeros(self._size, dtype=np.float32)
        rows = list(dict.fromkeys(self.vectors.words(text)))
        if not rows or not len(self._with_words):
            return result
        where = np.searchsorted(self._vocabulary, rows)
        where = np.minimum(where, len(self._vocabulary) - 1)
        in_faq = self._vocabulary[where] == np.asarray(rows)
        weights = np.where(in_faq, self._idf[where], self._unseen_idf).astype(np.float32)
        similarity = self.vectors.vectors(rows) @ self._matrix.T  # (words, vocabulary)
        best = np.maximum.reduceat(similarity[:, self._pair_columns], self._starts, axis=1)
        result[self._with_words] = weights @ best / weights.sum()
        return result


class BlendedEvidence:
    """A sentence encoder's and the word vectors' evidence in equal parts (not tuned),
    for the entries both cover, with a weight and calibration of its own."""

    def __init__(self, sentences: SemanticEvidence, words: WordVectorEvidence,
                 params: SemanticParams) -> None:
        self.sentences = sentences
        self.words = words
        self.params = params
        self.encoded = sentences.encoded + words.encoded

    def applies(self, candidates: np.ndarray) -> bool:
        """Whether both cover every candidate."""
        return self.sentences.applies(candidates) and self.words.applies(candidates)

    def scores(self, text: str) -> Float32Array:
        """Per entry, the mean of the two sources' evidence."""
        return (self.sentences.scores(text) + self.words.scores(text)) / np.float32(2.0)

    def with_params(self, params: SemanticParams) -> BlendedEvidence:
        """The same evidence with other weights (for tuning)."""
        return BlendedEvidence(self.sentences, self.words, params)


@dataclass(frozen=True)
class SemanticModels:
    """The loaded opt-in models, and how to make evidence for a FAQ from them."""

    encoder: TextEncoder | None = None
    # None: the encoder's own locales
    encoder_locales: frozenset[str] | None = None
    word_vectors: WordVectors | None = None
    word_vector_locales: frozenset[str] = field(default=WORD_VECTOR_LOCALES)
    # where the encoder's vectors are kept between runs (None: not kept)
    cache: VectorCache | None = None

    def __bool__(self) -> bool:
        return self.encoder is not None or self.word_vectors is not None

    def sources(
        self, entries: Sequence[FaqEntry], previous: Sequence[SemanticSource] = ()
    ) -> tuple[SemanticSource, ...]:
        """Evidence of every configured model for ``entries``, reusing what ``previous``
        (the sources of the matcher being replaced) computed, most specific first (the
        matcher uses the first that applies to a message). CPU-bound."""
        sentences = words = None
        if self.encoder is not None:
            prior = next((p for p in previous if isinstance(p, SemanticEvidence)), None)
            sentences = SemanticEvidence(entries, self.encoder, self.encoder_locales,
                                         previous=prior, cache=self.cache)
        if self.word_vectors is not None:
            prior_words = next((p for p in previous if isinstance(p, WordVectorEvidence)),
                               None)
            words = WordVectorEvidence(entries, self.word_vectors, self.word_vector_locales,
                                       previous=prior_words)
        sources: list[SemanticSource] = []
        if sentences is not None and words is not None:
            blend = BLENDED_ENCODERS.get(sentences.encoder.name)
            if blend is not None:
                sources.append(BlendedEvidence(sentences, words, blend))
        sources += [s for s in (sentences, words) if s is not None]
        return tuple(sources)


def is_off(name: str | None) -> bool:
    """Whether a model setting's value means "no model"."""
    return name is None or name.strip().lower() in ("", "off", "none")


@dataclass(frozen=True)
class SemanticConfig:
    """Which opt-in models to use (the ``HELPDESK_FAQ_ENCODER``, ``..._ENCODER_LOCALES`` and
    ``HELPDESK_FAQ_WORD_VECTORS`` settings); ``off`` or empty turns one off."""

    encoder: str | None = None
    # None: the encoder's own (English; Japanese for the multilingual one)
    encoder_locales: frozenset[str] | None = None
    word_vectors: str | None = None
    # HELPDESK_FAQ_CACHE_DIR: where the encoder's vectors are kept between runs
    cache_dir: Path | None = None

    def __post_init__(self) -> None:
        # one spelling of "off" from here on
        if is_off(self.encoder):
            object.__setattr__(self, "encoder", None)
        if is_off(self.word_vectors):
            object.__setattr__(self, "word_vectors", None)

    @property
    def enabled(self) -> bool:
        """Whether any model is asked for."""
        return self.encoder is not None or self.word_vectors is not None

    def load(self) -> SemanticModels:
        """Load the models (tens of MB each; seconds). Raises
        :class:`faq.encoder.EncoderError` naming what is missing or unusable."""
        return SemanticModels(
            encoder=load_encoder(self.encoder) if self.encoder else None,
            encoder_locales=self.encoder_locales,
            word_vectors=(
                WordVectors(resolve_vectors_dir(self.word_vectors)) if self.word_vectors
                else None
            ),
            cache=(
                VectorCache(self.cache_dir, logging.getLogger("faq.vector_cache"))
                if self.cache_dir is not None and self.encoder else None
            ),
        )
