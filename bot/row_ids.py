"""Row ids that come from outside (a query string, a button's value, a postback, a
slash command): parsed strictly and kept inside the id columns' range, so that an odd
or huge number means "no such row" instead of a database error."""

from __future__ import annotations

# Ids are INTEGER columns on PostgreSQL; a larger bound value fails the whole query.
MAX_ROW_ID = 2**31 - 1
_MAX_DIGITS = len(str(MAX_ROW_ID))


def parse_row_id(raw: object) -> int | None:
    """The id written in `raw` (ASCII digits only), or None when it is not one that a
    row can have."""
    if not isinstance(raw, str) or not raw.isascii() or not raw.isdigit():
        return None
    # Length first: int() of thousands of digits is slow, and refused past 4300.
    if len(raw.lstrip("0")) > _MAX_DIGITS:
        return None
    value = int(raw)
    return value if 0 < value <= MAX_ROW_ID else None
