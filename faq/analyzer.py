"""Turn text into matching features: words, kana readings and character n-grams.

Features are strings prefixed by their channel so one sparse vector can hold them all:

* ``w:`` words — Japanese content words from SudachiPy (``normalized_form()`` so that
  送付/送る variants and ｺﾝﾋﾞﾆ/コンビニ meet; particles, auxiliary verbs and symbols
  dropped; SplitMode C compounds plus their SplitMode A parts) and English stems.
* ``r:`` reading n-grams — 2/3-grams over the hiragana reading of Japanese runs, so that
  a query typed in kana (てきかくせいきゅうしょ) or converted wrongly by the IME
  (配送上京 for 配送状況) still meets the kanji in the FAQ.
* ``c:`` character n-grams — 2/3-grams over :func:`faq.normalize.kana_key`, for typos.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

from faq.english import STOPWORDS, stem
from faq.normalize import kana_key, katakana_to_hiragana, normalize

# Parts of speech that carry the topic of a question.
_CONTENT_POS = frozenset({"名詞", "動詞", "形容詞", "形状詞", "副詞", "接頭辞", "代名詞"})
_SKIP_READING_POS = frozenset({"補助記号", "空白", "記号"})
# Very frequent light words whose presence says nothing about the topic.
_JA_STOPWORDS = frozenset(
    "為る 有る 居る 成る 出来る 来る 行く 言う 思う 見る 貰う 下さる 頂く 致す 御座る 申す "
    "こと 事 もの 物 よう 様 ため 為 方 とき 時 これ それ あれ どれ ここ そこ どこ 此れ 其れ "
    "何 なに 私 僕 俺 今 ない 無い 良い いい 其処 此処 何処 の ん 御 お ご 又 又は 頃 くらい 位 "
    "さん 様 たい どう どの どんな".split()
)
_LATIN_WORD = re.compile(r"[a-z][a-z0-9'’\-]*|[0-9]+[a-z][a-z0-9]*")
_NGRAM_SIZES = (2, 3)


@dataclass(frozen=True)
class Analysis:
    """Features of one text, per channel, as term counts."""

    words: Counter[str]
    readings: Counter[str]
    chars: Counter[str]
    key: str  # kana_key of the text, for fuzzy comparison


def char_ngrams(text: str, sizes: tuple[int, ...] = _NGRAM_SIZES) -> Counter[str]:
    """Character n-grams of each whitespace-separated chunk (chunks shorter than n count once)."""
    grams: Counter[str] = Counter()
    for chunk in text.split():
        for n in sizes:
            if len(chunk) < n:
                if n == sizes[0]:
                    grams[chunk] += 1
                continue
            for i in range(len(chunk) - n + 1):
                grams[chunk[i : i + n]] += 1
    return grams


class TextAnalyzer:
    """Analyses text with a lazily created SudachiPy tokenizer.

    The tokenizer is not safe for concurrent use, so calls are serialised with a lock;
    each analyzer owns its own tokenizer. Nothing is loaded until the first Japanese text.
    """

    def __init__(self, *, loanwords: bool = False) -> None:
        """``loanwords``: also index English words by their katakana loanword form
        (coupon → クーポン) so that English queries meet a Japanese FAQ."""
        self._loanwords = loanwords
        self._lock = threading.Lock()
        self._tokenizer: Any = None
        self._mode_c: Any = None
        self._mode_a: Any = None

    def _sudachi(self) -> Any:
        if self._tokenizer is None:
            from sudachipy import Dictionary, SplitMode  # heavy: import only when needed

            self._tokenizer = Dictionary(dict="core").tokenizer()
            self._mode_c = SplitMode.C
            self._mode_a = SplitMode.A
        return self._tokenizer

    def analyze(self, text: str) -> Analysis:
        """Features of ``text`` (any mix of Japanese and English)."""
        norm = normalize(text)
        words: Counter[str] = Counter()
        readings: Counter[str] = Counter()
        pos = 0
        latin: list[str] = []
        for m in _LATIN_WORD.finditer(norm):
            self._japanese(norm[pos : m.start()], words, readings)
            word = m.group().strip("'’-")
            if word and word not in STOPWORDS:
                words[stem(word)] += 1
                latin.append(word)
            pos = m.end()
        self._japanese(norm[pos:], words, readings)
        if self._loanwords and latin:
            words.update(self._katakana_forms(latin))
        key = kana_key(text)
        return Analysis(words=words, readings=readings, chars=char_ngrams(key), key=key)

    def _katakana_forms(self, latin: list[str]) -> list[str]:
        with self._lock:
            forms = [m.normalized_form() for m in self._sudachi().tokenize(" ".join(latin))]
        return [f for f in forms if len(f) > 1 and all("\u30a1" <= ch <= "\u30fc" for ch in f)]

    def _japanese(self, text: str, words: Counter[str], readings: Counter[str]) -> None:
        if not text.strip() or text.isascii():
            # digits and stray symbols between English words: keep numbers as words
            for token in text.split():
                if token.isdigit():
                    words[token] += 1
            return
        with self._lock:
            tokenizer = self._sudachi()
            morphemes = [
                (
                    m.part_of_speech()[0],
                    m.normalized_form(),
                    m.reading_form(),
                    m.surface(),
                    [a.normalized_form() for a in m.split(self._mode_a)],
                )
                for m in tokenizer.tokenize(text, self._mode_c)
            ]
        run: list[str] = []
        for pos, normalized, reading, surface, parts in morphemes:
            if pos in _SKIP_READING_POS:
                _add_reading(run, readings)
                run = []
                continue
            run.append(reading if reading and reading != "キゴウ" else surface)
            if pos not in _CONTENT_POS:
                continue
            for form in {normalized, *parts}:
                if form not in _JA_STOPWORDS and not (len(form) == 1 and _is_kana(form)):
                    words[form] += 1
        _add_reading(run, readings)


def _add_reading(run: list[str], readings: Counter[str]) -> None:
    if run:
        readings.update(char_ngrams(katakana_to_hiragana("".join(run)).translate(_SMALL)))


_SMALL = str.maketrans("ぁぃぅぇぉっゃゅょゎ", "あいうえおつやゆよわ")


def _is_kana(text: str) -> bool:
    return all("\u3041" <= ch <= "\u30ff" for ch in text)
