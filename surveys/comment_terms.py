"""Recurring words and phrases in survey comments, per promoters / passives / detractors.

The free-text answer of a survey ("what is the main reason for your score?") says *why*
customers scored as they did. This module turns comments into terms and counts them per
segment, so that a dashboard can set what promoters praise beside what detractors
complain about.

Segments (:func:`surveys.rules.segment_of`), from the score and the kind of survey:

* NPS (0–10): 9–10 promoters, 7–8 passives, 0–6 detractors;
* CSAT (1–5): 4–5 promoters, 3 passives, 1–2 detractors;
* CES (1–7, 7 = very easy): 5–7 promoters, 4 passives, 1–3 detractors.

A term (:class:`Term`) has a *key*, which groups the variants of a word, and a *label*,
the readable form shown to people. :meth:`CommentAnalyzer.terms` finds them in the first
2,000 characters of a comment, after :func:`faq.normalize.normalize`:

* Japanese (SudachiPy, SplitMode C): nouns, consecutive nouns (after a leading prefix)
  joined into one compound (配送 + 料金 → 配送料金; key: the joined normalised forms,
  label: the joined surfaces); adjectives and na-adjectives in dictionary form (早い,
  丁寧), and verb + やすい/にくい/づらい (分かりやすい, 使いにくい), because praise and
  complaint words are what readers look for. A negated one is its own term (早くない,
  丁寧ではない, 問題ない, 説明なし: key ``¬`` + the key of what is negated), since
  counting 早い for 早くない would turn a complaint into praise. Numbers with their
  counters (3日, 10分), pronouns, light nouns (こと, もの, ため), honorifics (お/ご,
  さん, 様), single kana, symbols and emoji give no term.
* English: lower-case words without stop words, keyed by :func:`faq.english.stem` so that
  "delivery" and "deliveries" meet, and two-word phrases of adjacent content words
  ("customer service"; key: the two stems). A word after a negator in its clause is a
  term of its own ("not helpful", "didn't arrive" → "not arrive", "no update"; key
  ``¬`` + the stem), as in Japanese. Punctuation ends a phrase: "Fast. Delivery
  was late" has no phrase "fast delivery".

Counting (:func:`analyse_comments`) is by *document frequency*: a term counts once per
comment that contains it, however often it is repeated there, and separately in each
segment. A term is listed for a segment only if at least ``min_count`` comments of the
current period contain it (one comment is an anecdote, not a recurring reason); the
listing is by count, then label, at most ``top`` terms, each with its count in the
previous period and a few example comments, newest first. The label shown for a key is
the one most comments of the current period used (ties: the smallest).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum, auto
from typing import Any, NamedTuple

from faq.english import STOPWORDS, stem
from faq.normalize import normalize
from surveys.rules import Segment


class Term(NamedTuple):
    key: str  # groups variants (stems, normalised forms)
    label: str  # as written, for people


@dataclass(frozen=True)
class Comment:
    segment: Segment
    text: str
    at: datetime  # when it was written (answered_at)
    terms: tuple[Term, ...] | None = None  # None: analyse now


@dataclass(frozen=True)
class TermCount:
    term: str  # the label
    count: int  # comments in this period and segment that contain the term
    previous: int  # same, in the previous period
    examples: tuple[str, ...]  # comment texts containing it, newest first, cut short

    @property
    def change(self) -> int:
        return self.count - self.previous


# Longest part of a comment analysed: the reason is given up front, and it keeps one
# tokenizer call far below Sudachi's limit of ~49 kB.
_MAX_CHARS = 2000
_EXAMPLE_CHARS = 200
# How far back from the cut a space is looked for (an unbroken run is cut where it is).
_WORD_LOOKBACK = 50
# The lexicon cache is cleared when it holds this many words (bounded memory).
_LEXICON_LIMIT = 100_000

# Comments are not FAQ questions: faq.analyzer's private Japanese stop words are about
# request phrasing (教えてください) and drop words that matter here (良い), so comments
# have their own list. Normalised forms, kana and kanji spellings both.
_JA_STOP_NOUNS = frozenset(
    "こと 事 もの 物 よう 様 ため 為 方 時 とき 所 ところ 訳 わけ 筈 はず 積もり つもり "
    "感じ 件 今回 前回 毎回 今日 先日 以前 最近 今 皆 自分 一番 等 など 他 ほか "
    "なし 無し".split()
)
_JA_STOP_ADJECTIVES = frozenset("無い 欲しい 同じ 色々".split())
_HONORIFIC_SUFFIXES = frozenset("さん 様 さま 君 くん ちゃん 氏 殿 達".split())
_HONORIFIC_PREFIX = "御"  # お/ご/御: ご対応 and 対応 are one term
_NEGATORS = frozenset({"無い", "なし", "無し"})

# Fillers of comments, pronouns and function words that faq.english.STOPWORDS (written for
# questions) lacks, and the halves of contractions that normalize leaves ("didn't" →
# "didn t"). Words with sentiment (great, slow, helpful) are not fillers.
_EN_STOPWORDS = STOPWORDS | frozenset(
    """
    really lot lots bit thing things everything anything something nothing none get got gets
    getting etc us him her his hers ours theirs myself than out up over because after before
    all only more most other such again each same own both few until while off down through
    during don didn doesn isn wasn weren aren haven hasn hadn couldn wouldn shouldn won ain
    """.split()
)
# English words that negate the next content word of the clause ("not helpful", "didn't
# arrive", "no update"), the halves of contractions included; "t" counts after "can".
_EN_NEGATORS = frozenset(
    "not no never cannot don didn doesn isn wasn weren aren haven hasn hadn couldn wouldn "
    "shouldn won ain".split()
)
_LATIN_WORD = re.compile(r"[a-z\u00df-\u00f6\u00f8-\u00ff\u0100-\u024f]+")
# Where a phrase ends: anything but letters, digits, spaces, apostrophes and hyphens (the
# last two are inside words), and line breaks.
_CLAUSE_BREAK = re.compile(r"[^\w \t'’\-]+")


class _Kind(Enum):
    OTHER = auto()
    NOUN = auto()
    NUMBER = auto()
    PREFIX = auto()
    SUFFIX = auto()  # nominal suffix (担当 + 者)
    ADJECTIVE = auto()  # 形容詞: 早い
    NA_ADJECTIVE = auto()  # 形状詞: 丁寧 (negated through a copula: 丁寧ではない)
    ADJECTIVE_SUFFIX = auto()  # やすい, にくい, づらい after a verb
    VERB = auto()
    NEGATOR = auto()  # ない, なし
    COPULA = auto()  # で/じゃ of 丁寧ではない
    PARTICLE = auto()  # は/が/も of 問題がない
    EXISTS = auto()  # あり/ござい of ありません
    POLITE = auto()  # ませ
    NOT = auto()  # ん/ず


@dataclass(frozen=True, slots=True)  # slots: made once per dictionary word, read per token
class _Token:
    kind: _Kind
    surface: str
    normalized: str
    dictionary: str
    counter: bool = False  # a counter noun (分 of 10分, 時間 of 3時間)
    # an evaluative noun (最高, 最悪, 便利): stands alone, since chat style drops the
    # particle (サポート最高) and one compound would hide both words
    evaluative: bool = False
    honorific: bool = False  # お/ご, さん/様


class CommentAnalyzer:
    """Terms of comments. The SudachiPy tokenizer is created on first use and is not safe
    for concurrent use, so calls into it are serialised with a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokenizer: Any = None
        self._mode: Any = None
        self._pos_of: Any = None
        self._pos: dict[int, tuple[str, ...]] = {}
        # a dictionary word always reads the same: its fields are read once (each is a
        # call into Sudachi). The surface is in the key: unknown words share ids.
        self._lexicon: dict[tuple[int, str], _Token] = {}

    def terms(self, text: str) -> tuple[Term, ...]:
        """Distinct terms of ``text`` in order of first appearance (:mod:`surveys.comment_terms`
        says what a term is)."""
        found: dict[str, str] = {}
        budget = _MAX_CHARS
        head = text[:_MAX_CHARS]
        if len(text) > _MAX_CHARS and not text[_MAX_CHARS].isspace():
            # the cut went through a word: "refun" of refund would be a term of its own
            space = max(head.rfind(" "), head.rfind("\n"))
            if space >= _MAX_CHARS - _WORD_LOOKBACK:
                head = head[:space]
        # NFKC before finding clauses: a combining mark (decomposed が) is no break
        for clause in _CLAUSE_BREAK.split(unicodedata.normalize("NFKC", head)):
            norm = normalize(clause)[:budget]
            if not norm:
                continue
            budget -= len(norm)
            for term in self._clause(norm):
                if term.key not in found and any(ch.isalpha() for ch in term.label):
                    found[term.key] = term.label
            if budget <= 0:
                break
        return tuple(Term(key, label) for key, label in found.items())

    def _clause(self, norm: str) -> Iterator[Term]:
        previous: Term | None = None  # the last English content word, for phrases
        # the negator waiting for its word: "not helpful" must not count as "helpful"
        negator: str | None = None
        last = ""
        pos = 0
        for match in _LATIN_WORD.finditer(norm):
            gap = norm[pos : match.start()]
            pos = match.end()
            if gap.strip():
                previous = None
                negator = None
                if not gap.isascii():
                    yield from self._japanese(gap)
            word, before = match.group(), last
            last = word
            if word in _EN_NEGATORS or (word == "t" and before == "can"):
                negator = word if word in ("no", "never") else "not"
                previous = None
                continue
            if len(word) < 2 or word in _EN_STOPWORDS:
                previous = None
                continue
            if negator is not None:
                # its own term, keyed like the Japanese negations; no phrase from it
                yield Term(f"¬{stem(word)}", f"{negator} {word}")
                negator = None
                previous = None
                continue
            term = Term(stem(word), word)
            yield term
            if previous is not None:
                yield Term(f"{previous.key} {term.key}", f"{previous.label} {word}")
            previous = term
        rest = norm[pos:]
        if rest.strip() and not rest.isascii():
            yield from self._japanese(rest)

    def _japanese(self, text: str) -> Iterator[Term]:
        tokens = self._tokens(text)
        n = len(tokens)
        i = 0
        while i < n:
            token = tokens[i]
            kind = token.kind
            if kind is _Kind.NUMBER:
                # 3日, 10分, 2回目: a quantity, not a topic
                i += 1
                while i < n and (tokens[i].counter or tokens[i].kind is _Kind.SUFFIX):
                    i += 1
            elif kind is _Kind.NOUN or kind is _Kind.PREFIX:
                i = yield from self._compound(tokens, i)
            elif kind is _Kind.ADJECTIVE or kind is _Kind.NA_ADJECTIVE:
                i = yield from _maybe_negated(
                    tokens,
                    i + 1,
                    Term(token.normalized, token.dictionary),
                    token.surface,
                    copula=kind is _Kind.NA_ADJECTIVE,
                    subject=False,
                )
            elif (
                kind is _Kind.VERB and i + 1 < n and tokens[i + 1].kind is _Kind.ADJECTIVE_SUFFIX
            ):
                suffix = tokens[i + 1]
                i = yield from _maybe_negated(
                    tokens,
                    i + 2,
                    Term(token.normalized + suffix.normalized, token.surface + suffix.dictionary),
                    token.surface + suffix.surface,
                    copula=False,
                    subject=False,
                )
            else:
                i += 1

    @staticmethod
    def _compound(tokens: list[_Token], i: int) -> Generator[Term, None, int]:
        """Yield the compound noun starting at ``tokens[i]``; return where it ends."""
        n = len(tokens)
        parts: list[_Token] = []
        if tokens[i].kind is _Kind.PREFIX:
            if not tokens[i].honorific:
                parts.append(tokens[i])
            i += 1
            if i >= n or tokens[i].kind is not _Kind.NOUN:
                return i  # a prefix of something else (ご丁寧に): not a noun
        nouns = 0
        while i < n:
            token = tokens[i]
            if token.kind is _Kind.NOUN:
                if token.evaluative and nouns:
                    break
                parts.append(token)
                nouns += 1
                if token.evaluative:
                    i += 1
                    break
            elif token.kind is _Kind.SUFFIX and not token.honorific:
                parts.append(token)
            else:
                break
            i += 1
        if i < n and tokens[i].kind is _Kind.SUFFIX:
            i += 1  # an honorific suffix ends the compound and is dropped
        if not nouns:
            return i
        key = "".join(p.normalized for p in parts)
        surface = "".join(p.surface for p in parts)
        return (
            yield from _maybe_negated(
                tokens, i, Term(key, surface), surface, copula=True, subject=True
            )
        )

    def _tokens(self, text: str) -> list[_Token]:
        with self._lock:
            if self._tokenizer is None:
                from sudachipy import Dictionary, SplitMode  # heavy: import only when needed

                dictionary = Dictionary(dict="core")
                self._tokenizer = dictionary.tokenizer()
                self._pos_of = dictionary.pos_of
                self._mode = SplitMode.C
            if len(self._lexicon) >= _LEXICON_LIMIT:
                self._lexicon.clear()
            known = self._lexicon.get
            return [
                known((m.word_id(), m.surface())) or self._learn(m)
                for m in self._tokenizer.tokenize(text, self._mode)
            ]

    def _learn(self, m: Any) -> _Token:
        pos_id = m.part_of_speech_id()
        pos = self._pos.get(pos_id)
        if pos is None:
            pos = self._pos[pos_id] = tuple(str(p) for p in self._pos_of(pos_id))
        surface = str(m.surface())
        token = _Token(
            _kind_of(pos, str(m.normalized_form())),
            surface,
            str(m.normalized_form()),
            str(m.dictionary_form()),
            counter=pos[0] == "名詞" and pos[2] == "助数詞可能",
            evaluative=pos[0] == "名詞" and pos[2] in ("形状詞可能", "サ変形状詞可能"),
            honorific=(pos[0] == "接頭辞" and m.normalized_form() == _HONORIFIC_PREFIX)
            or (pos[0] == "接尾辞" and surface in _HONORIFIC_SUFFIXES),
        )
        self._lexicon[m.word_id(), surface] = token
        return token


def _maybe_negated(
    tokens: list[_Token], i: int, term: Term, base: str, *, copula: bool, subject: bool
) -> Generator[Term, None, int]:
    """Yield ``term`` (which ends before ``tokens[i]``), or its negation when one follows
    (``base`` is the form a negation attaches to: 早く of 早くない); return the index after
    what was used. ``copula``: negated through で/じゃ (丁寧ではない); ``subject``: through
    が (説明がない)."""
    n = len(tokens)
    middle = ""
    j = i
    if copula and j < n and tokens[j].kind is _Kind.COPULA:
        middle += tokens[j].surface
        j += 1
    if j < n and tokens[j].kind is _Kind.PARTICLE and (subject or tokens[j].normalized != "が"):
        middle += tokens[j].surface
        j += 1
    negator = ""
    if j < n and tokens[j].kind is _Kind.NEGATOR:
        negator = "ない" if tokens[j].normalized == "無い" else "なし"
        j += 1
    elif (
        j + 2 < n
        and tokens[j].kind is _Kind.EXISTS
        and tokens[j + 1].kind is _Kind.POLITE
        and tokens[j + 2].kind is _Kind.NOT
    ):  # ありません, ございません
        negator = "ない"
        j += 3
    if negator:
        yield Term(f"¬{term.key}", base + middle + negator)
        return j
    if not (len(term.label) == 1 and _is_kana(term.label)):
        yield term
    return i


def _kind_of(pos: tuple[str, ...], normalized: str) -> _Kind:
    major = pos[0]
    if major == "名詞":
        if normalized in _NEGATORS:
            return _Kind.NEGATOR
        if pos[1] == "数詞":
            return _Kind.NUMBER
        if pos[2] == "非自立可能" or normalized in _JA_STOP_NOUNS:
            return _Kind.OTHER
        return _Kind.NOUN
    if major == "形容詞":
        if normalized == "無い":
            return _Kind.NEGATOR
        return _Kind.OTHER if normalized in _JA_STOP_ADJECTIVES else _Kind.ADJECTIVE
    if major == "形状詞":
        # そう/みたい/よう of 早そう are auxiliary stems, not words of their own
        if pos[1] == "助動詞語幹" or normalized in _JA_STOP_ADJECTIVES:
            return _Kind.OTHER
        return _Kind.NA_ADJECTIVE
    if major == "接頭辞":
        return _Kind.PREFIX
    if major == "接尾辞":
        if pos[1] == "名詞的":
            return _Kind.SUFFIX
        if pos[1] == "形容詞的":
            return _Kind.ADJECTIVE_SUFFIX
        return _Kind.OTHER
    if major == "動詞":
        return _Kind.EXISTS if normalized in ("有る", "御座る") else _Kind.VERB
    if major == "助動詞":
        if normalized == "だ":
            return _Kind.COPULA
        if normalized == "ます":
            return _Kind.POLITE
        if normalized in ("ず", "ぬ"):
            return _Kind.NOT
        return _Kind.OTHER
    if major == "助詞" and normalized in ("は", "が", "も"):
        return _Kind.PARTICLE
    return _Kind.OTHER


def _is_kana(text: str) -> bool:
    return all("\u3041" <= ch <= "\u30ff" for ch in text)


def analyse_comments(
    current: Sequence[Comment],
    previous: Sequence[Comment],
    analyzer: CommentAnalyzer,
    *,
    top: int = 10,
    examples: int = 3,
    min_count: int = 2,
) -> dict[Segment, list[TermCount]]:
    """The recurring terms of each segment in ``current``, with their counts in
    ``previous`` (the period before, chosen by the caller). Every segment is a key."""
    if top < 0 or examples < 0 or min_count < 1:
        raise ValueError("top and examples must be >= 0 and min_count >= 1")
    analysed: dict[str, tuple[Term, ...]] = {}  # tokenize each distinct text once

    def terms_of(comment: Comment) -> tuple[Term, ...]:
        if comment.terms is not None:
            return comment.terms
        terms = analysed.get(comment.text)
        if terms is None:
            terms = analysed[comment.text] = analyzer.terms(comment.text)
        return terms

    counts: dict[Segment, Counter[str]] = {segment: Counter() for segment in Segment}
    holders: dict[tuple[Segment, str], list[int]] = defaultdict(list)
    # per key, how many comments wrote each label (across segments, so that one key
    # reads the same in every column)
    labels: dict[str, Counter[str]] = defaultdict(Counter)
    for index, comment in enumerate(current):
        seen: set[str] = set()
        for term in terms_of(comment):
            if term.key in seen:
                continue
            seen.add(term.key)
            counts[comment.segment][term.key] += 1
            holders[comment.segment, term.key].append(index)
            labels[term.key][term.label] += 1
    before: dict[Segment, Counter[str]] = {segment: Counter() for segment in Segment}
    for comment in previous:
        before[comment.segment].update({term.key for term in terms_of(comment)})

    def label_of(key: str) -> str:
        return min(labels[key].items(), key=lambda item: (-item[1], item[0]))[0]

    result: dict[Segment, list[TermCount]] = {}
    for segment in Segment:
        recurring = [
            (count, label_of(key), key)
            for key, count in counts[segment].items()
            if count >= min_count
        ]
        recurring.sort(key=lambda row: (-row[0], row[1], row[2]))
        result[segment] = [
            TermCount(
                term=label,
                count=count,
                previous=before[segment][key],
                examples=_examples(current, holders[segment, key], examples),
            )
            for count, label, key in recurring[:top]
        ]
    return result


def _examples(comments: Sequence[Comment], indexes: list[int], limit: int) -> tuple[str, ...]:
    """Up to ``limit`` distinct texts, newest first (same time: in input order)."""
    chosen: list[str] = []
    for index in sorted(indexes, key=lambda i: comments[i].at, reverse=True):
        if len(chosen) >= limit:
            break
        text = _shorten(comments[index].text.strip())
        if text and text not in chosen:
            chosen.append(text)
    return tuple(chosen)


def _shorten(text: str) -> str:
    return text if len(text) <= _EXAMPLE_CHARS else text[: _EXAMPLE_CHARS - 1] + "…"
