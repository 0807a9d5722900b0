"""Turn text into matching features: words, synonym groups, kana readings and char n-grams.

Features are kept per channel so that the matcher can weight the channels:

* ``words`` — Japanese content words from SudachiPy (``normalized_form()`` so that
  送付/送る variants and ｺﾝﾋﾞﾆ/コンビニ meet; particles, auxiliary verbs, symbols and the
  fillers of polite requests — 教えてください, お願いします — dropped; SplitMode C compounds
  plus, for long ones, their SplitMode A parts) and English stems.
* ``synonyms`` — SudachiDict's synonym group ids of the content words, a general-purpose
  thesaurus shipped with the dictionary (包装/ラッピング, 領収書/レシート, 送料/配送料), so
  that paraphrases meet without any synonym list written for a particular FAQ.
* ``readings`` — 2/3-grams over the hiragana reading of Japanese runs, so that a query
  typed in kana (てきかくせいきゅうしょ) or converted wrongly by the IME (配送上京 for
  配送状況) still meets the kanji in the FAQ.
* ``chars`` — 2/3-grams over :func:`faq.normalize.kana_key`, for typos.

Tokenizing is the expensive part of building an index, so the analyzer caches the
morphemes of each distinct text chunk (FAQ files repeat phrases a lot) and reads only the
morpheme fields it needs.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from faq.english import STOPWORDS, stem
from faq.glossary import Glossary
from faq.normalize import hiragana_table, kana_key_of_normalized, normalize
from faq.romaji import RomajiReader

# Parts of speech that carry the topic of a question.
_CONTENT_POS = frozenset({"名詞", "動詞", "形容詞", "形状詞", "副詞", "接頭辞", "代名詞"})
_SKIP_READING_POS = frozenset({"補助記号", "空白", "記号"})
# Very frequent light words whose presence says nothing about the topic, and the verbs of
# polite request phrasing (〜を教えてください, 〜をお願いします, 〜したいのですが, 〜が欲しい,
# 〜か知りたい) that wrap a question without being part of it.
_JA_STOPWORDS = frozenset(
    "為る 有る 居る 成る 出来る 来る 行く 言う 思う 見る 貰う 下さる 頂く 致す 御座る 申す "
    "こと 事 もの 物 よう 様 ため 為 方 とき 時 これ それ あれ どれ ここ そこ どこ 此れ 其れ "
    "何 なに 私 僕 俺 今 ない 無い 良い いい 其処 此処 何処 の ん 御 お ご 又 又は 頃 くらい 位 "
    "さん 様 たい どう どの どんな 教える 願う 欲しい 知る 呉れる 置く 仕舞う 付く "
    "すみません 済む 失礼 宜しい よろしい 手数 恐れ入る".split()
)
_LATIN_WORD = re.compile(r"[a-z][a-z0-9'’\-]*|[0-9]+[a-z][a-z0-9]*")
_NGRAM_SIZES = (2, 3)
# Compounds at least this long are also indexed by their SplitMode A parts (定期便 → 定期,
# 便); shorter morphemes have no parts, and asking Sudachi for them costs time.
_SPLIT_MIN_LENGTH = 3
# Longest text given to Sudachi at once (it accepts at most 49,149 bytes of UTF-8).
_CHUNK_CHARS = 4000
# Cached chunks; a FAQ with 10,000 entries has far fewer distinct sentences than this.
_CACHE_LIMIT = 200_000


@dataclass(frozen=True)
class Analysis:
    """Features of one text, per channel, as term counts."""

    words: Counter[str]
    readings: Counter[str]
    chars: Counter[str]
    key: str  # kana_key of the text, for fuzzy comparison
    synonyms: Counter[str]
    # words that are guesses rather than what was typed: Sudachi's reading of words typed
    # in hiragana (どうき → 動悸) and katakana forms of English words
    guessed: frozenset[str] = frozenset()
    # English word (stemmed, as in ``words``) -> the Japanese words the glossary read it as
    translations: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)  # slots: read per token, attribute access must be fast
class _Morpheme:
    """What one dictionary word contributes to an analysis, worked out once per word (the
    lexicon cache) so that the per-token loop of :meth:`TextAnalyzer._japanese` only adds."""

    pos: str
    normalized: str
    # ends a kana-reading run (symbols, spaces)
    breaks_reading: bool
    # what the word adds to the reading run (hiragana, small kana as full size)
    reading_piece: str
    # word features (content words only, fillers and single kana dropped)
    forms: tuple[str, ...]
    # typed in hiragana: its word forms are the tokenizer's guess
    hiragana: bool
    synonym_groups: tuple[str, ...]


class Terms(NamedTuple):  # a tuple: made once per text, so cheap to make
    """Every feature occurrence of one text, in order, before counting: words, synonym
    groups, the kana-reading runs that readings are the n-grams of, the kana key (whose
    n-grams are the character channel) and the guessed words."""

    words: list[str]
    synonyms: list[str]
    reading_runs: list[str]
    key: str
    guessed: set[str]
    translations: dict[str, tuple[str, ...]] | None = None


Rewrite = Callable[[str], str]


def char_ngrams(text: str, sizes: tuple[int, ...] = _NGRAM_SIZES) -> Counter[str]:
    """Character n-grams of each whitespace-separated chunk (chunks shorter than n count once)."""
    grams: list[str] = []
    _ngrams(text, grams, sizes)
    return Counter(grams)


def _ngrams(text: str, grams: list[str], sizes: tuple[int, ...] = _NGRAM_SIZES) -> None:
    """Append the n-grams of :func:`char_ngrams` to ``grams``."""
    for chunk in text.split():
        length = len(chunk)
        for n in sizes:
            if length < n:
                if n == sizes[0]:
                    grams.append(chunk)
                continue
            grams += [chunk[i : i + n] for i in range(length - n + 1)]


class TextAnalyzer:
    """Analyses text with a lazily created SudachiPy tokenizer.

    The tokenizer is not safe for concurrent use, so calls are serialised with a lock;
    each analyzer owns its own tokenizer. Nothing is loaded until the first Japanese text.
    An analyzer can be pickled (to build an index in another process); the tokenizer and
    cache are not carried over.
    """

    def __init__(self, *, loanwords: bool = False) -> None:
        """``loanwords``: also index English words by their katakana loanword form
        (coupon → クーポン) so that English queries meet a Japanese FAQ."""
        self._loanwords = loanwords
        self._romaji = RomajiReader()
        self._lock = threading.Lock()
        self._tokenizer: Any = None
        self._mode_c: Any = None
        self._mode_a: Any = None
        self._pos_names: dict[int, str] = {}
        self._cache: dict[str, tuple[_Morpheme, ...]] = {}
        self._lexicon: dict[tuple[int, str], _Morpheme] = {}

    @property
    def loanwords(self) -> bool:
        """Whether English words are also indexed by their katakana loanword form."""
        return self._loanwords

    def __getstate__(self) -> dict[str, Any]:
        return {"loanwords": self._loanwords}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(loanwords=bool(state["loanwords"]))  # type: ignore[misc]

    def _sudachi(self) -> Any:
        if self._tokenizer is None:
            from sudachipy import Dictionary, SplitMode  # heavy: import only when needed

            dictionary = Dictionary(dict="core")
            self._tokenizer = dictionary.tokenizer()
            self._pos_of = dictionary.pos_of
            self._mode_c = SplitMode.C
            self._mode_a = SplitMode.A
        return self._tokenizer

    def warm_up(self) -> None:
        """Load the tokenizer now rather than on the first Japanese query."""
        self.analyze("準備")

    def analyze(
        self,
        text: str,
        *,
        rewrite: Rewrite | None = None,
        limit: int | None = None,
        chars: bool = True,
        readings: bool = True,
        glossary: Glossary | None = None,
    ) -> Analysis:
        """Features of ``text`` (any mix of Japanese and English).

        ``rewrite`` is applied to the normalised text (synonym folding); ``limit`` analyses
        only the first ``limit`` characters (long answers: their opening says what they are
        about); ``chars=False`` and ``readings=False`` skip those channels; ``glossary``
        adds the Japanese words for English ones (with ``loanwords``; for queries).
        """
        terms = self.terms(
            text, rewrite=rewrite, limit=limit, readings=readings, glossary=glossary
        )
        grams: list[str] = []
        for run in terms.reading_runs:
            _ngrams(run, grams)
        # Counter of a list is a single C loop
        return Analysis(
            words=Counter(terms.words),
            readings=Counter(grams),
            chars=char_ngrams(terms.key) if chars else Counter(),
            key=terms.key,
            synonyms=Counter(terms.synonyms),
            guessed=frozenset(terms.guessed),
            translations=terms.translations or {},
        )

    def terms(
        self,
        text: str,
        *,
        rewrite: Rewrite | None = None,
        limit: int | None = None,
        readings: bool = True,
        glossary: Glossary | None = None,
    ) -> Terms:
        """What :meth:`analyze` counts, uncounted: for analysing many texts at once
        (:mod:`faq.feature_batch`), which counts them all together."""
        norm = normalize(text[: limit * 2] if limit else text)
        if limit:
            norm = norm[:limit]
        if rewrite is not None:
            norm = rewrite(norm)
        words: list[str] = []
        runs: list[str] | None = [] if readings else None
        synonyms: list[str] = []
        guessed: set[str] = set()
        translations: dict[str, tuple[str, ...]] | None = None
        pos = 0
        latin: list[str] = []
        typed: list[str] = []
        for m in _LATIN_WORD.finditer(norm):
            self._japanese(norm[pos : m.start()], words, runs, synonyms, guessed)
            word = m.group().strip("'’-")
            if word:
                typed.append(word)
                if word not in STOPWORDS:
                    words.append(stem(word))
                    latin.append(word)
            pos = m.end()
        self._japanese(norm[pos:], words, runs, synonyms, guessed)
        if self._loanwords and latin:
            forms = self._katakana_forms(latin)
            if glossary is not None:
                # English words as the Japanese words JMdict translates them with
                # (forgot → 忘れる, receipt → レシート, 領収書 via its synonym group)
                translations = {}
                for word in latin:
                    read: list[str] = []
                    for japanese in glossary.japanese_for(word):
                        self._japanese(japanese, read, None, synonyms, guessed)
                    if read:
                        translations[stem(word)] = tuple(read)
                        forms += read
            words += forms
            guessed.update(forms)
        if self._loanwords and typed and norm.isascii():
            # Japanese typed in romaji ("puran henkou shitai") read back as kana: its
            # readings meet the FAQ's, and the tokenizer's words for it count as guesses.
            # Only a message with no Japanese script at all: whoever can type kana
            # writes Latin words as English (家のWi-Fi, receiptがほしい).
            kana = self._romaji.read(typed)
            if kana is not None:
                found: list[str] = []
                self._japanese(kana, found, runs, synonyms, guessed)
                words += found
                guessed.update(found)
        return Terms(
            words, synonyms, runs or [], kana_key_of_normalized(norm), guessed, translations
        )

    def _katakana_forms(self, latin: list[str]) -> list[str]:
        forms = [m.normalized for m in self._chunked_morphemes(" ".join(latin))]
        return [f for f in forms if len(f) > 1 and all("\u30a1" <= ch <= "\u30fc" for ch in f)]

    def _chunked_morphemes(self, text: str) -> list[_Morpheme]:
        """Morphemes of ``text`` tokenized in pieces: Sudachi refuses inputs over ~49 kB,
        and shorter pieces repeat more often, which the cache likes."""
        if len(text) <= _CHUNK_CHARS:
            return list(self._morphemes(text))
        result: list[_Morpheme] = []
        piece = ""
        for word in text.split(" "):
            while len(word) > _CHUNK_CHARS:  # an unbroken run of text: cut it
                result.extend(self._morphemes(word[:_CHUNK_CHARS]))
                word = word[_CHUNK_CHARS:]
            if piece and len(piece) + 1 + len(word) > _CHUNK_CHARS:
                result.extend(self._morphemes(piece))
                piece = word
            else:
                piece = f"{piece} {word}" if piece else word
        if piece:
            result.extend(self._morphemes(piece))
        return result

    def _morphemes(self, text: str) -> tuple[_Morpheme, ...]:
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        with self._lock:
            tokenizer = self._sudachi()
            # a dictionary word always yields the same fields: read them once (each field
            # is a call into Sudachi); the surface is part of the key because
            # out-of-vocabulary words share ids. (One comprehension: this runs per token.)
            known = self._lexicon.get
            result = tuple([
                known((m.word_id(), m.surface())) or self._learn(m)
                for m in tokenizer.tokenize(text, self._mode_c)
            ])  # fmt: skip
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
                self._lexicon.clear()
            self._cache[text] = result
        return result

    def _learn(self, m: Any) -> _Morpheme:
        """Add a word to the lexicon cache."""
        morpheme = self._lexicon[m.word_id(), m.surface()] = self._morpheme(m)
        return morpheme

    def _morpheme(self, m: Any) -> _Morpheme:
        pos_id = m.part_of_speech_id()
        pos = self._pos_names.get(pos_id)
        if pos is None:
            pos = self._pos_names[pos_id] = str(self._pos_of(pos_id)[0])
        surface = m.surface()
        normalized = m.normalized_form()
        reading = m.reading_form()
        forms: tuple[str, ...] = ()
        synonym_groups: tuple[str, ...] = ()
        if pos in _CONTENT_POS and normalized not in _JA_STOPWORDS:
            parts: tuple[str, ...] = ()
            if len(surface) >= _SPLIT_MIN_LENGTH:
                split = m.split(self._mode_a)
                if len(split) > 1:
                    parts = tuple(a.normalized_form() for a in split)
            forms = tuple(
                form
                for form in dict.fromkeys((normalized, *parts))  # distinct, in order
                if form not in _JA_STOPWORDS and not (len(form) == 1 and _is_kana(form))
            )
            synonym_groups = tuple(str(group) for group in m.synonym_group_ids())
        return _Morpheme(
            pos=pos,
            normalized=normalized,
            breaks_reading=pos in _SKIP_READING_POS,
            # folded here, once per word, rather than in every reading run
            reading_piece=(reading if reading and reading != "キゴウ" else surface).translate(
                _READING_FOLD
            ),
            forms=forms,
            hiragana=_is_hiragana(surface),
            synonym_groups=synonym_groups,
        )

    def _japanese(
        self,
        text: str,
        words: list[str],
        runs: list[str] | None,
        synonyms: list[str],
        guessed: set[str],
    ) -> None:
        if not text.strip() or text.isascii():
            # digits and stray symbols between English words: keep numbers as words
            words += [token for token in text.split() if token.isdigit()]
            return
        run: list[str] = []
        # kana-reading runs end at symbols and spaces (collected even if not wanted: the
        # loop is cheaper without a test per morpheme)
        ended: list[str] = []
        for m in self._chunked_morphemes(text):
            if m.breaks_reading:
                if run:
                    ended.append("".join(run))
                    run = []
                continue
            run.append(m.reading_piece)
            if m.forms:
                words += m.forms
                if m.hiragana:
                    guessed.update(m.forms)
            if m.synonym_groups:
                synonyms += m.synonym_groups
        if runs is not None:
            runs += ended
            if run:
                runs.append("".join(run))


# readings fold katakana to hiragana and small kana to full size (ゕゖ never occur in them)
_READING_FOLD = hiragana_table(str.maketrans("ぁぃぅぇぉっゃゅょゎ", "あいうえおつやゆよわ"))


def _is_kana(text: str) -> bool:
    return all("\u3041" <= ch <= "\u30ff" for ch in text)


def _is_hiragana(text: str) -> bool:
    return all("\u3041" <= ch <= "\u309f" or ch == "ー" for ch in text)
