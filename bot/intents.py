"""Recognising the few things customers say that are not FAQ questions.

Asking for a person, saying it is solved, thanks and greetings are recognised from short
phrase lists before the FAQ matcher runs, so "オペレーター" never gets an FAQ answer.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum


class Intent(StrEnum):
    HUMAN = "human"
    SOLVED = "solved"
    THANKS = "thanks"
    GREETING = "greeting"


_HUMAN_JA = (
    "オペレーター", "オペレータ", "おぺれーたー", "人と話", "ひとと話", "人間と話", "人間に",
    "担当者", "有人", "スタッフと話", "スタッフに", "係の人", "電話で話", "人に代わ", "人につな",
)  # fmt: skip
_HUMAN_EN = re.compile(
    r"\b(talk|speak|chat|connect)\b.*\b(human|person|agent|someone|somebody|representative"
    r"|operator|staff|people)\b"
    r"|\b(real person|live agent|human agent|live chat|customer service rep)\b"
    r"|^\s*(human|agent|operator|representative|person)\s*[.!?]*\s*$"
)
_SOLVED_JA = (
    "解決しました",
    "解決した",
    "解決です",
    "解決済",
    "直りました",
    "できました",
    "以上です",
)
_SOLVED_EN = re.compile(
    r"\b(solved|resolved|it worked|that worked|all good|that's all|thats all|fixed it|sorted)\b"
)
_NEGATION = re.compile(r"(ない|ません|なかった|ず|not|n't|never|no longer|still)")
_THANKS = re.compile(r"(ありがとう|有難う|サンキュー|\bthanks?\b|\bthank you\b|\bthx\b|\bty\b)")
_GREETING = re.compile(
    r"^(こんにちは|こんばんは|おはよう(ございます)?|はじめまして|もしもし|hello|hi|hey|hiya"
    r"|good (morning|afternoon|evening))[\s!！。.、,~〜]*$"
)

# Longer messages carry a question of their own even when they also say "thanks".
_SHORT = 30


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold().strip()


def detect_intent(text: str) -> Intent | None:
    """The intent of a message, or None when it should go to the FAQ matcher."""
    t = normalise(text)
    if any(p in t for p in _HUMAN_JA) or _HUMAN_EN.search(t):
        return Intent.HUMAN
    if len(t) > _SHORT:
        return None
    negated = _NEGATION.search(t) is not None
    if not negated and (any(p in t for p in _SOLVED_JA) or _SOLVED_EN.search(t)):
        return Intent.SOLVED
    if _THANKS.search(t):
        return Intent.THANKS
    if _GREETING.match(t):
        return Intent.GREETING
    return None
