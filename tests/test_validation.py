"""The edge rules on their own: the cursor codec and strict JSON (no database)."""

from __future__ import annotations

import datetime as dt

import pytest

from clientcard.errors import Invalid
from clientcard.pagination import decode_cursor, encode_cursor
from clientcard.validation import JsonRefused, check_free_json, loads_strict


def test_a_cursor_round_trips_its_sort_key():
    at = dt.datetime(2026, 1, 5, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    cursor = encode_cursor([at, "Kowalska Ana", 7])
    values = decode_cursor(cursor, kinds=(dt.datetime, str, int))
    assert values == [at, "Kowalska Ana", 7]
    assert values[0].tzinfo == dt.UTC


@pytest.mark.parametrize(
    ("values", "kinds"),
    [
        ([True], (int,)),  # a boolean is not an id
        ([2**63], (int,)),
        (["2026-01-05T10:00:00"], (dt.datetime,)),  # no zone
        (["yesterday"], (dt.datetime,)),
        ([1], (str,)),
        ([None], (str,)),
    ],
)
def test_a_cursor_value_of_the_wrong_kind_is_refused(values, kinds):
    with pytest.raises(Invalid) as refused:
        decode_cursor(encode_cursor(values), kinds=kinds)
    assert refused.value.errors[0].field == "cursor"


def test_strict_json_names_what_it_refuses():
    assert loads_strict(b'{"a": [1, 2.5, "x"], "b": {"c": null}}') == {
        "a": [1, 2.5, "x"],
        "b": {"c": None},
    }
    cases = {
        b'{"a": {"b": [0, NaN]}}': "a.b.1",
        b'[{"x": -Infinity}]': "0.x",
        b'{"a": 1e999}': "a",
        b'{"a": {"k": 1, "k": 1}}': "a.k",
    }
    for raw, field in cases.items():
        with pytest.raises(JsonRefused) as refused:
            loads_strict(raw)
        assert refused.value.error.field == field
    with pytest.raises(JsonRefused):
        loads_strict(b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(ValueError):
        loads_strict(b"{not json")


def test_free_form_json_is_bounded_in_depth_size_and_numbers():
    assert check_free_json({"a": {"b": [1, "x"]}}) == {"a": {"b": [1, "x"]}}
    deep: dict = {}
    inner = deep
    for _ in range(16):
        inner["a"] = {}
        inner = inner["a"]
    with pytest.raises(ValueError, match="nested deeper than 16"):
        check_free_json(deep)
    with pytest.raises(ValueError, match="finite"):
        check_free_json({"a": float("inf")})
    with pytest.raises(ValueError, match="bytes long"):
        check_free_json({"a": "x" * 70_000})
