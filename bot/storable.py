"""What a database can store: text without NUL characters or lone surrogates, and JSON
without NaN or Infinity.

PostgreSQL refuses NUL in `text` and `jsonb`, refuses NaN in `jsonb`, and a lone
surrogate (a JSON "\\ud800" escape) is not encodable as UTF-8 for either database.
Channels check what they receive at the edge, so such a payload is a 400 with the reason
instead of an insert that fails half way through the work.
"""

from __future__ import annotations

import math


def unstorable(value: object) -> str | None:
    """Why `value` (parsed JSON, or any nesting of dicts, lists and scalars) cannot be
    stored, or None when it can."""
    # A stack, not recursion: JSON can nest about as deep as Python's recursion limit.
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem is not None:
                return problem
        elif isinstance(item, float) and not math.isfinite(item):
            return "NaN and Infinity are not JSON numbers"
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def text_problem(text: str) -> str | None:
    """Why this string cannot be stored, or None."""
    if "\x00" in text:
        return "text contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "text contains a lone surrogate (not valid Unicode)"
    return None
