"""Text normalisation shared by indexing and querying.

Two levels:

* :func:`normalize` — NFKC (folds half-width katakana, full-width digits and Latin),
  casefold, punctuation and symbols to spaces, whitespace collapsed. Input for the
  tokenizer.
* :func:`kana_key` — additionally folds katakana to hiragana and small kana to their full
  size, so that ``ﾊﾟｽﾜｰﾄﾞ``, ``パスワード`` and ``ぱすわーど`` share one key. Used for
  character n-grams and fuzzy similarity, where spelling variants should not matter.
"""

from __future__ import annotations

import unicodedata

_KATAKANA_START = 0x30A1  # ァ
_KATAKANA_END = 0x30F6  # ヶ
_KANA_OFFSET = 0x60  # distance between ア and あ

# Small kana are often typed full size (or vice versa) in chat; fold them for matching keys.
_SMALL_TO_LARGE = str.maketrans("ぁぃぅぇぉっゃゅょゎゕゖ", "あいうえおつやゆよわかけ")

# "ー" (Lm) and "々" (Lm) are letters and stay. Punctuation, symbols (incl. emoji),
# controls and separators become spaces.
_SPACE_CATEGORIES = frozenset(
    {"Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So", "Cc", "Cf", "Zs", "Zl",
     "Zp"}
)


class _SpaceTable(dict[int, str]):
    """``str.translate`` table mapping punctuation/symbol code points to a space and others
    to themselves, filled lazily: one ``unicodedata`` lookup per distinct character instead
    of one per character. A pure memo (same answers whatever was seen before)."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        value = " " if unicodedata.category(char) in _SPACE_CATEGORIES else char
        self[code] = value
        return value


_SPACES = _SpaceTable()


def normalize(text: str) -> str:
    """NFKC, casefold, punctuation/symbols to single spaces, trimmed."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(folded.translate(_SPACES).split())


_KATAKANA_TO_HIRAGANA = {
    code: code - _KANA_OFFSET for code in range(_KATAKANA_START, _KATAKANA_END + 1)
}


def katakana_to_hiragana(text: str) -> str:
    """Fold katakana letters (ァ..ヶ) to hiragana; other characters are unchanged."""
    return text.translate(_KATAKANA_TO_HIRAGANA)


def kana_key(text: str) -> str:
    """:func:`normalize`, then katakana→hiragana and small kana→full size."""
    return katakana_to_hiragana(normalize(text)).translate(_SMALL_TO_LARGE)
