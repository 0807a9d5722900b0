"""Values from outside checked before they reach a query or a row."""

from __future__ import annotations

import pytest

from bot.row_ids import MAX_ROW_ID, parse_row_id
from bot.storable import text_problem, unstorable


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", 1), ("007", 7), (str(MAX_ROW_ID), MAX_ROW_ID), ("0" * 30 + "12", 12)],
)
def test_row_ids_in_range_are_read(raw: str, expected: int) -> None:
    assert parse_row_id(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["", "0", "-1", "+1", " 1", "1.0", "1e3", "²", "١", "１", str(MAX_ROW_ID + 1), "9" * 5000,
     None, 5, ["1"]],
)  # fmt: skip
def test_anything_else_is_no_row_id(raw: object) -> None:
    assert parse_row_id(raw) is None


def test_storable_values() -> None:
    assert unstorable({"a": ["text", 1, 2.5, None, True, {"b": "パスワード 😀"}]}) is None
    assert unstorable(10**40) is None


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("a\x00b", "text contains a NUL character"),
        ({"k": ["\ud800"]}, "text contains a lone surrogate (not valid Unicode)"),
        ({"\x00key": 1}, "text contains a NUL character"),
        ([float("nan")], "NaN and Infinity are not JSON numbers"),
        ({"x": float("-inf")}, "NaN and Infinity are not JSON numbers"),
    ],
)
def test_unstorable_values_say_why(value: object, problem: str) -> None:
    assert unstorable(value) == problem


def test_deeply_nested_values_are_walked_without_recursion() -> None:
    value: object = "\x00"
    for _ in range(100_000):
        value = [value]
    assert unstorable(value) == "text contains a NUL character"
    assert text_problem("fine") is None
