"""Guessing a customer's language from what they typed."""

from __future__ import annotations

import unicodedata


def detect_locale(text: str) -> str | None:
    """'ja' if the text has any kana or kanji, 'en' if it has Latin letters, else None.

    One Japanese character is enough: Japanese customers mix in Latin product names and
    model numbers, while English customers practically never type kana.
    """
    has_latin = False
    for ch in text:
        if "\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" or "\uff66" <= ch <= "\uff9f":
            return "ja"
        if ch.isascii() and ch.isalpha():
            has_latin = True
        elif unicodedata.category(ch).startswith("L") and "\uff21" <= ch <= "\uff5a":
            has_latin = True  # full-width Latin
    return "en" if has_latin else None
