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


def normalize(text: str) -> str:
    """NFKC, casefold, punctuation/symbols to single spaces, trimmed."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    chars = [" " if unicodedata.category(ch) in _SPACE_CATEGORIES else ch for ch in folded]
    return " ".join("".join(chars).split())


def katakana_to_hiragana(text: str) -> str:
    """Fold katakana letters (ァ..ヶ) to hiragana; other characters are unchanged."""
    return "".join(
        chr(ord(ch) - _KANA_OFFSET) if _KATAKANA_START <= ord(ch) <= _KATAKANA_END else ch
        for ch in text
    )


def kana_key(text: str) -> str:
    """:func:`normalize`, then katakana→hiragana and small kana→full size."""
    return katakana_to_hiragana(normalize(text)).translate(_SMALL_TO_LARGE)
