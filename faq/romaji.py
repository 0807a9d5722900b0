"""Japanese typed in the Latin alphabet (romaji) read back as hiragana.

A customer without a Japanese keyboard writes "sim kaado nakushita" or "puran henkou
shitai"; read as hiragana (しむ かあど なくした, ぷらん へんこう したい) the words meet the
FAQ through their kana readings. Hepburn, Kunrei-shiki and the IME's own spellings are
all read (shi/si, tsu/tu, fu/hu, ji/zi, chi/ti, sha/sya, nn, xtu...), long vowels as typed
(ou, oo, aa). A word is romaji only if it parses completely into syllables, which most
English words do not ("cancel", "line", "my"); those that do ("name", "use") add kana
features that a Japanese FAQ rarely shares by chance.
"""

from __future__ import annotations

_VOWELS = {"a": "あ", "i": "い", "u": "う", "e": "え", "o": "お"}
# consonant (or cluster) -> kana for a, i, u, e, o; None where the syllable does not exist
_ROWS: dict[str, tuple[str | None, ...]] = {
    "k": ("か", "き", "く", "け", "こ"),
    "g": ("が", "ぎ", "ぐ", "げ", "ご"),
    "s": ("さ", "し", "す", "せ", "そ"),
    "z": ("ざ", "じ", "ず", "ぜ", "ぞ"),
    "t": ("た", "ち", "つ", "て", "と"),
    "d": ("だ", "ぢ", "づ", "で", "ど"),
    "n": ("な", "に", "ぬ", "ね", "の"),
    "h": ("は", "ひ", "ふ", "へ", "ほ"),
    "b": ("ば", "び", "ぶ", "べ", "ぼ"),
    "p": ("ぱ", "ぴ", "ぷ", "ぺ", "ぽ"),
    "m": ("ま", "み", "む", "め", "も"),
    "y": ("や", None, "ゆ", "いぇ", "よ"),
    "r": ("ら", "り", "る", "れ", "ろ"),
    "l": ("ら", "り", "る", "れ", "ろ"),  # an l is an r to a Japanese speaker
    "w": ("わ", "うぃ", "う", "うぇ", "を"),
    "f": ("ふぁ", "ふぃ", "ふ", "ふぇ", "ふぉ"),
    "v": ("ゔぁ", "ゔぃ", "ゔ", "ゔぇ", "ゔぉ"),
    "j": ("じゃ", "じ", "じゅ", "じぇ", "じょ"),
    "sh": ("しゃ", "し", "しゅ", "しぇ", "しょ"),
    "ch": ("ちゃ", "ち", "ちゅ", "ちぇ", "ちょ"),
    "ts": ("つぁ", "つぃ", "つ", "つぇ", "つぉ"),
    "x": ("ぁ", "ぃ", "ぅ", "ぇ", "ぉ"),
    "xy": ("ゃ", None, "ゅ", None, "ょ"),
    "dh": (None, "でぃ", "でゅ", None, None),
    "th": (None, "てぃ", "てゅ", None, None),
}
# palatalised rows: ky, sy (= sh), ty (= ch), ...: the i-kana plus a small ya/yu/yo
_Y_BASES = "kgsztdnhbpmrlcj"
_SMALL_Y = {"a": "ゃ", "u": "ゅ", "o": "ょ", "e": "ぇ"}


def _syllables() -> dict[str, str]:
    table = dict(_VOWELS)
    for consonant, kana in _ROWS.items():
        for vowel, piece in zip("aiueo", kana, strict=True):
            if piece is not None:
                table[consonant + vowel] = piece
    for base in _Y_BASES:
        i_kana = {"c": "ち", "j": "じ"}.get(base) or table.get(base + "i")
        if i_kana is None:
            continue
        for vowel, small in _SMALL_Y.items():
            table.setdefault(base + "y" + vowel, i_kana + small)
    table.update({"shi": "し", "chi": "ち", "tsu": "つ", "fu": "ふ", "ji": "じ",
                  "xtu": "っ", "xtsu": "っ", "ltu": "っ", "nn": "ん", "n'": "ん"})  # fmt: skip
    return table


class RomajiReader:
    """Reads whole romaji words as hiragana; built once (the table), then cheap."""

    def __init__(self) -> None:
        self._table = _syllables()
        self._longest = max(len(k) for k in self._table)

    def hiragana(self, word: str) -> str | None:
        """The hiragana of ``word`` (lower-case ASCII), or None if it is not romaji."""
        out: list[str] = []
        i, n = 0, len(word)
        while i < n:
            ch = word[i]
            # a doubled consonant is a small tsu (kitte, matcha), except nn
            if i + 1 < n and ch == word[i + 1] and ch not in "aiueon":
                out.append("っ")
                i += 1
                continue
            if word.startswith("nn", i) and i + 2 < n and word[i + 2] in "aiueoy":
                out.append("ん")  # konnichiwa: the second n starts the next syllable
                i += 1
                continue
            if ch == "t" and word.startswith("tch", i):
                out.append("っ")
                i += 1
                continue
            for size in range(min(self._longest, n - i), 0, -1):
                piece = self._table.get(word[i : i + size])
                if piece is not None:
                    # "n" + vowel is な行, "nn" handled by the table; a lone n before a
                    # consonant or at the end is ん
                    out.append(piece)
                    i += size
                    break
            else:
                if ch == "n":
                    out.append("ん")
                    i += 1
                elif ch == "-" and out:
                    out.append("ー")
                    i += 1
                else:
                    return None
        return "".join(out)

    def read(self, words: list[str]) -> str | None:
        """The words as one space-separated hiragana text, when most of them are
        romaji (a sentence of English with a stray "sure" in it is not); None else."""
        read = [self.hiragana(w) for w in words]
        kana = [r for r in read if r]
        if not kana or len(kana) * 2 <= len(words):
            return None
        return " ".join(kana)
