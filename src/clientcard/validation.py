"""The rules every input meets at the edge, whatever route or page it arrives through.

- Text: no NUL character (one of the databases cannot store it in text, the other would
  keep it as is), in JSON bodies, query and path parameters and page forms alike.
- Time: a timezone-aware time whose UTC value lies in years 1 to 9999, what Python and
  both databases hold.
- JSON bodies: strict JSON (no NaN or Infinity, no number that overflows to infinity, no
  key twice in one object), at most `MAX_BODY_DEPTH` levels deep.
- Free-form JSON objects (campaign settings, interaction metadata, account data, ...): at
  most `MAX_FREE_DEPTH` levels deep and `MAX_FREE_BYTES` long once encoded.

A breach is a `FieldError` naming the field by path (`metadata.a.b`), as every other field
error is named, so the client learns which value to fix.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from typing import Any

from clientcard.errors import FieldError, Invalid

MAX_BODY_DEPTH = 64
MAX_FREE_DEPTH = 16
MAX_FREE_BYTES = 65_536

NUL_MESSAGE = "must not contain the NUL character"
TIME_RANGE_MESSAGE = "is outside the years 1 to 9999 (UTC)"


# ---- text --------------------------------------------------------------------------------


def has_nul(text: str) -> bool:
    return "\x00" in text


def check_text(name: str, value: str) -> None:
    """Refuses text with a NUL character, naming the field."""
    if "\x00" in value:
        raise Invalid.field(name, NUL_MESSAGE)


# ---- integers -----------------------------------------------------------------------------

_INTEGER = re.compile(r"-?[0-9]+")


def is_integer_text(text: str) -> bool:
    """Plain ASCII digits with an optional minus: what an id looks like in a URL or a body
    (int() also reads " 1", "+1", "1_000" and other scripts' digits)."""
    return _INTEGER.fullmatch(text) is not None


def check_integer_text(value: Any) -> Any:
    """A pydantic before-validator: an integer given as text must be plain digits."""
    if isinstance(value, str) and not is_integer_text(value):
        raise ValueError("is not an integer")
    return value


# ---- time --------------------------------------------------------------------------------


def in_time_range(at: dt.datetime) -> bool:
    """Whether the time, read as UTC (a naive one is UTC), lies in years 1 to 9999."""
    if at.tzinfo is None:
        return True
    try:
        at.astimezone(dt.UTC)
    except OverflowError:
        return False
    return True


def check_time(at: dt.datetime) -> dt.datetime:
    """A pydantic after-validator: the time in the databases' range, else a field error."""
    if not in_time_range(at):
        raise ValueError(TIME_RANGE_MESSAGE)
    return at


# ---- JSON --------------------------------------------------------------------------------


class JsonRefused(Exception):
    """A JSON document that breaks the rules; `error` names where."""

    def __init__(self, error: FieldError):
        super().__init__(f"{error.field}: {error.message}")
        self.error = error


class _Refused:
    """Stands, in a decoded document, where a value the rules refuse was, so that the walk
    that follows can name its field."""

    def __init__(self, message: str):
        self.message = message


class _TwiceKeyed(dict):  # type: ignore[type-arg]
    """An object that named `key` twice."""

    key = ""


def loads_strict(raw: bytes | str) -> Any:
    """JSON as the API reads it: NaN, Infinity, numbers beyond a double's range and keys
    given twice are refused (`json` accepts the first two, turns the third into infinity
    and keeps the last of the fourth), naming the field. Raises `JsonRefused`, or
    ValueError for text that is not JSON at all."""
    refused = False

    def constant(name: str) -> Any:
        nonlocal refused
        refused = True
        return _Refused(f"{name} is not a JSON number")

    def number(text: str) -> Any:
        nonlocal refused
        value = float(text)
        if math.isinf(value):
            refused = True
            return _Refused(f"the number {text[:40]} is out of range")
        return value

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal refused
        obj = dict(pairs)
        if len(obj) == len(pairs):
            return obj
        refused = True
        twice = _TwiceKeyed(obj)
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                twice.key = key
                break
            seen.add(key)
        return twice

    try:
        value = json.loads(
            raw, parse_constant=constant, parse_float=number, object_pairs_hook=unique
        )
    except RecursionError:
        raise JsonRefused(FieldError("body", "is nested too deeply")) from None
    if refused:
        _name_refused(value)
    return value


def _name_refused(value: Any) -> None:
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, where = stack.pop()
        if isinstance(item, _Refused):
            raise JsonRefused(FieldError(where or "body", item.message))
        if isinstance(item, _TwiceKeyed):
            name = f"{where}.{item.key}" if where else item.key
            raise JsonRefused(FieldError(name, "is given twice in one object"))
        if isinstance(item, dict):
            stack.extend((v, f"{where}.{k}" if where else k) for k, v in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend(
                (v, f"{where}.{i}" if where else str(i)) for i, v in reversed(list(enumerate(item)))
            )


def check_json(value: Any, *, max_depth: int, path: str = "") -> None:
    """Walks a decoded JSON value: no text with NUL (keys included), no value deeper than
    `max_depth`, only finite numbers. Raises `JsonRefused` naming the first breach."""
    stack: list[tuple[Any, str, int]] = [(value, path, 0)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise JsonRefused(FieldError(where or "body", NUL_MESSAGE))
        elif isinstance(item, dict):
            if depth >= max_depth:
                raise JsonRefused(
                    FieldError(where or "body", f"is nested deeper than {max_depth} levels")
                )
            for key, child in item.items():
                name = f"{where}.{key}" if where else str(key)
                if isinstance(key, str) and "\x00" in key:
                    raise JsonRefused(FieldError(where or "body", "has a key with NUL"))
                stack.append((child, name, depth + 1))
        elif isinstance(item, list | tuple):
            if depth >= max_depth:
                raise JsonRefused(
                    FieldError(where or "body", f"is nested deeper than {max_depth} levels")
                )
            for index, child in enumerate(item):
                stack.append((child, f"{where}.{index}" if where else str(index), depth + 1))
        elif isinstance(item, float) and not math.isfinite(item):
            raise JsonRefused(FieldError(where or "body", "must be a finite number"))


def check_free_json(value: Any) -> Any:
    """A pydantic after-validator for a free-form JSON object: depth, size, finite numbers
    and no NUL. The field's own name is added by pydantic; the message names the path
    inside it."""
    try:
        check_json(value, max_depth=MAX_FREE_DEPTH)
    except JsonRefused as exc:
        where = exc.error.field
        inside = "" if where == "body" else f"{where}: "
        raise ValueError(f"{inside}{exc.error.message}") from None
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_FREE_BYTES:
        raise ValueError(f"is {size} bytes long; at most {MAX_FREE_BYTES} are kept")
    return value
