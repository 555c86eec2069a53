"""Keyset cursors: opaque strings that carry the sort key of the last row of a page."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from clientcard.errors import Invalid

MAX_LIMIT = 200


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *, kinds: tuple[type, ...]) -> list[Any]:
    """The values of a cursor, checked against the types the list sorts by."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise Invalid.field("cursor", "is not a cursor this list gave out") from None
    if (
        not isinstance(values, list)
        or len(values) != len(kinds)
        or not all(type(v) is kind or v is None for v, kind in zip(values, kinds, strict=True))
    ):
        raise Invalid.field("cursor", "is not a cursor this list gave out")
    return values
