"""English word handling: stopwords and a small suffix stemmer.

The stemmer is deliberately conservative (plural, -ing, -ed, -ly, a few derivational
suffixes) so that "charged"/"charges"/"charging" meet without merging unrelated words.
"""

from __future__ import annotations

STOPWORDS = frozenset(
    """
    a an the and or but if then so of to in on at by for with from into about as is are was
    were be been being am do does did doing have has had having i me my mine we our you your
    yours he she it its they them their this that these those there here what which who whom
    whose when where why how can could would should will shall may might must just also too
    very please hi hello thanks thank s t ll ve re d m im i'm dont don't not no any some
    """.split()
)

# (suffix, replacement, minimum stem length left after removing the suffix)
_SUFFIXES: tuple[tuple[str, str, int], ...] = (
    ("ational", "ate", 3),
    ("ization", "ize", 3),
    ("fulness", "ful", 3),
    ("iveness", "ive", 3),
    ("ication", "y", 3),
    ("ation", "ate", 3),
    ("ments", "", 4),
    ("ment", "", 4),
    ("ness", "", 3),
    ("ings", "", 3),
    ("ing", "", 3),
    ("ied", "y", 2),
    ("ies", "y", 2),
    ("edly", "", 3),
    ("ed", "", 3),
    ("ly", "", 4),
    ("es", "", 4),
    ("s", "", 3),
)


def stem(word: str) -> str:
    """A light suffix-stripping stem of a lower-cased English word."""
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix, replacement, min_stem in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= min_stem:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                return word
            base = word[: len(word) - len(suffix)] + replacement
            # "stopped" -> "stopp" -> "stop"; keep "ll"/"ss"/"zz" doubles ("billed" -> "bill")
            if len(base) > 3 and base[-1] == base[-2] and base[-1] not in "lsz":
                base = base[:-1]
            return _drop_final_e(base)
    return _drop_final_e(word)


def _drop_final_e(word: str) -> str:
    # "charge"/"charging" -> "charg": both sides of the match lose the e.
    return word[:-1] if len(word) > 4 and word.endswith("e") else word
