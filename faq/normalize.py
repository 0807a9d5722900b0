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
from collections.abc import Mapping

_KATAKANA_START = 0x30A1  # ァ
_KATAKANA_END = 0x30F6  # ヶ
_KANA_OFFSET = 0x60  # distance between ア and あ

# Small kana are often typed full size (or vice versa) in chat; fold them for matching keys.
_SMALL_TO_LARGE: dict[int, int] = str.maketrans(
    "ぁぃぅぇぉっゃゅょゎゕゖ", "あいうえおつやゆよわかけ"
)

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


def hiragana_table(small: Mapping[int, int]) -> dict[int, int]:
    """A ``str.translate`` table doing katakana→hiragana and then ``small`` (a table over
    hiragana) in one pass: translate costs a lookup per character, so one pass, not two."""
    return {**small, **{k: small.get(v, v) for k, v in _KATAKANA_TO_HIRAGANA.items()}}


_KANA_KEY = hiragana_table(_SMALL_TO_LARGE)


def kana_key(text: str) -> str:
    """:func:`normalize`, then katakana→hiragana and small kana→full size."""
    return normalize(text).translate(_KANA_KEY)


def kana_key_of_normalized(normalized_text: str) -> str:
    """:func:`kana_key` of text that is already the output of :func:`normalize` (which is
    idempotent), without normalising it again."""
    return normalized_text.translate(_KANA_KEY)
