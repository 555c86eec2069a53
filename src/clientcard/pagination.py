"""Keyset cursors: opaque strings that carry the sort key of the last row of a page.

The one codec of every list, API and pages alike. A cursor comes back from the client, so
it is input like any other: `decode_cursor` checks every value against the type the list
sorts by (an integer the databases can hold, text without NUL, a timezone-aware time in the
databases' range) and refuses anything else as a 422 naming `cursor`, never a failed query.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from typing import Any

from clientcard.errors import Invalid
from clientcard.schemas import MAX_INTEGER
from clientcard.validation import in_time_range

MAX_LIMIT = 200
# A cursor this server writes is a few dozen characters (a sort name of 200 at most).
MAX_CURSOR_LENGTH = 1000
_REFUSED = "is not a cursor this list gave out"


def encode_cursor(values: list[Any]) -> str:
    """The cursor of a page's last row: its sort key, times in ISO 8601."""
    plain = [v.isoformat() if isinstance(v, dt.datetime) else v for v in values]
    raw = json.dumps(plain, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *, kinds: tuple[type, ...]) -> list[Any]:
    """The values of a cursor, each checked against the type the list sorts by (`int`,
    `str` or `datetime.datetime`, in order). Any other cursor is a 422 naming `cursor`."""
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise Invalid.field("cursor", _REFUSED)
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(
            base64.urlsafe_b64decode(padded.encode("ascii")), parse_constant=_refuse_constant
        )
    except (binascii.Error, ValueError, UnicodeError, RecursionError):
        raise Invalid.field("cursor", _REFUSED) from None
    if not isinstance(values, list) or len(values) != len(kinds):
        raise Invalid.field("cursor", _REFUSED)
    return [_value(v, kind) for v, kind in zip(values, kinds, strict=True)]


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a sort key")


def _value(value: Any, kind: type) -> Any:
    if kind is int and type(value) is int and -MAX_INTEGER <= value <= MAX_INTEGER:
        return value
    if kind is str and type(value) is str and "\x00" not in value:
        return value
    if kind is dt.datetime and type(value) is str:
        try:
            at = dt.datetime.fromisoformat(value)
        except ValueError:
            raise Invalid.field("cursor", _REFUSED) from None
        if at.tzinfo is not None and in_time_range(at):
            return at.astimezone(dt.UTC)
    raise Invalid.field("cursor", _REFUSED)
