"""Semantic evidence for the matcher: sentence vectors of every question and alternate.

Opt-in (``HELPDESK_FAQ_ENCODER``). A sentence encoder finds paraphrases that share no
words with the FAQ ("my card hasn't shown up" for "When will my card arrive?"), which
lexical evidence cannot. It only helps in the languages its model was trained on, so the
evidence covers the entries of ``locales`` and the matcher uses it only for a message
whose candidate entries are all covered (see :meth:`faq.matcher.Matcher.with_semantic`).

Vectors are kept per text, so a hot reload encodes only new or edited questions.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from faq.encoder import Float32Array, SentenceEncoder
from faq.model import FaqEntry

# the locales of the packaged models; a model directory is assumed to be English
DEFAULT_ENCODER_LOCALES = frozenset({"en"})


@dataclass(frozen=True)
class SemanticParams:
    """Weight of the semantic evidence in the fused score, and the confidence calibration
    that replaces :class:`faq.matcher.ScoringParams`' when it is used (the fused score
    then has another scale). Tuned and fitted by ``bench/faq_semantic.py`` on the even
    rows of banking77 10-shot sets."""

    weight: float = 2.0
    bias: float = -4.624
    score_coef: float = 2.037
    margin_coef: float = 2.493
    # words the FAQ never uses are what the encoder bridges: no penalty for them here
    unknown_coef: float = 0.0


DEFAULT_SEMANTIC_PARAMS = SemanticParams()


class SemanticEvidence:
    """Unit vectors of the utterances of the covered entries, and their owners."""

    def __init__(
        self,
        entries: Sequence[FaqEntry],
        encoder: SentenceEncoder,
        locales: frozenset[str] = DEFAULT_ENCODER_LOCALES,
        params: SemanticParams = DEFAULT_SEMANTIC_PARAMS,
        previous: SemanticEvidence | None = None,
    ) -> None:
        """Encode the questions and alternates of ``entries`` in ``locales``; texts that
        ``previous`` (the evidence of the last build, same encoder) has are reused.
        CPU-bound (NumPy): run it off the event loop."""
        self.encoder = encoder
        self.locales = locales
        self.params = params
        self.covered = np.fromiter(
            (e.locale in locales for e in entries), dtype=bool, count=len(entries)
        )
        texts: list[str] = []
        owners: list[int] = []
        for i, entry in enumerate(entries):
            if self.covered[i]:
                for text in (entry.question, *entry.alternates):
                    texts.append(text)
                    owners.append(i)
        known = previous.vectors_by_text() if (
            previous is not None and previous.encoder is encoder
        ) else {}
        missing = sorted({t for t in texts if t not in known})
        known.update(zip(missing, encoder.encode(missing), strict=True))
        self._texts = texts
        self._vectors: Float32Array = (
            np.stack([known[t] for t in texts]) if texts
            else np.zeros((0, encoder.dimensions), dtype=np.float32)
        )
        self._owners = np.asarray(owners, dtype=np.int64)
        self._size = len(entries)
        self.encoded = len(missing)

    def with_params(self, params: SemanticParams) -> SemanticEvidence:
        """The same vectors with other weights (for tuning)."""
        evidence = copy.copy(self)
        evidence.params = params
        return evidence

    def vectors_by_text(self) -> dict[str, Float32Array]:
        """Each utterance's vector, for reuse by the next build."""
        return dict(zip(self._texts, self._vectors, strict=True))

    def applies(self, candidates: np.ndarray) -> bool:
        """Whether every candidate entry is covered (mixing covered and uncovered entries
        in one ranking would favour the covered ones)."""
        return bool(candidates.size) and bool(self.covered[candidates].all())

    def scores(self, text: str) -> Float32Array:
        """Per entry, the best cosine between ``text`` and its utterances (0 for entries
        not covered)."""
        nearest = np.zeros(self._size, dtype=np.float32)
        if not len(self._owners):
            return nearest
        query = self.encoder.encode([text])[0]
        np.maximum.at(nearest, self._owners, self._vectors @ query)
        return nearest
